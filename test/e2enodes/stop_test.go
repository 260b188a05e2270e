//go:build e2e && e2enodes

package e2enodes

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// The primary's node loses power (`node stop`) under writes in sync mode:
// nobody can confirm the primary's end, so the operator waits for it to
// have fenced itself (AwaitingSelfFence, about T) and then promotes a
// replica, which takes writes; no acknowledged commit is lost and nothing
// is acknowledged by the old primary after the stop. `node start`: the old
// member comes back as a replica after pg_rewind and the cluster is Ready
// with 3 members streaming.
func TestNodeStopPrimary(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "nodes-stop")
	const name = "stop"
	pw := createSpread(t, f, ns, name, 3, "sync")
	T := fenceAfterT(t, f, ns, name)
	oldPrimary, node := primaryOnExtraNode(t, f, ns, name)
	oldPod := f.Pod(t, ns, oldPrimary)
	oldIP, oldUID := oldPod.Status.PodIP, string(oldPod.UID)
	topo := f.NewTopology(ns, name, pw)
	before, err := topo.CurrentPrimary()
	require.NoError(t, err)

	rw := f.ServiceIP(t, ns, name+"-rw")
	require.NoError(t, framework.CreateNodeAckTable(rw, pw))
	host := framework.StartHostWriter("host", rw, pw, 1, 50*time.Millisecond)
	t.Cleanup(func() { stopAll(host) })
	framework.Eventually(t, time.Minute, "writes acknowledged", func() (bool, error) {
		return host.Stats().Acked >= 20, framework.Errorf("%+v", host.Stats())
	})

	cond := watchCondition(f, ns, name, v1alpha1.ConditionPrimaryAvailable)
	started := false
	stopAt, err := f.NodeAction("stop", node)
	require.NoError(t, err)
	t.Cleanup(func() {
		if !started {
			_, _ = f.NodeAction("start", node)
		}
	})
	t.Logf("stopped %s (primary %s, %s, timeline %d); T = %s", node, oldPrimary, oldIP, before.Timeline, T)

	var firstNew framework.Ack
	framework.Eventually(t, 2*time.Minute, "a write acknowledged by a new primary", func() (bool, error) {
		a, ok := host.FirstAckNotOn(oldIP)
		firstNew = a
		return ok, framework.Errorf("host writer %+v", host.Stats())
	})
	reasons := cond.Stop()
	t.Logf("PrimaryAvailable went through %v", reasons)
	assert.Contains(t, reasons, "False/AwaitingSelfFence", "the operator did not wait for the old primary to fence itself")

	var lastOld framework.Ack
	for _, a := range host.Acks() {
		if a.Server == oldIP {
			lastOld = a
		} else {
			assert.Equal(t, firstNew.Server, a.Server, "ack %d by a third server", a.ID)
			assert.Greater(t, a.Timeline, before.Timeline, "ack %d by the new primary on an old timeline", a.ID)
		}
	}
	assert.True(t, lastOld.At.Before(stopAt), "the stopped primary acknowledged id %d after the stop", lastOld.ID)
	t.Logf("stop → new primary's first acknowledged write: %s (id %d, %s, timeline %d); the promotion waited at least T: %v",
		firstNew.At.Sub(stopAt).Round(time.Millisecond), firstNew.ID, firstNew.Server, firstNew.Timeline, firstNew.At.Sub(stopAt) >= T)

	startFrom := time.Now()
	_, err = f.NodeAction("start", node)
	require.NoError(t, err)
	started = true
	waitRejoined(t, f, ns, oldPrimary, oldUID, pw)
	convergedAt := waitConverged(t, topo, 3, map[string]bool{oldUID: true}, true)
	f.WaitReady(t, ns, name, readyTimeout)
	t.Logf("start → %s rejoined as a replica and all 3 streaming, cluster Ready: %s", oldPrimary, convergedAt.Sub(startFrom).Round(time.Millisecond))
	host.Stop()

	after, err := topo.CurrentPrimary()
	require.NoError(t, err)
	require.Equal(t, firstNew.Server, after.IP)
	missing, err := framework.MissingNodeAcks(after.IP, pw, host.Acks())
	require.NoError(t, err)
	assert.Empty(t, missing, "sync mode lost acknowledged commits: %s", framework.FormatIDs(missing, 20))
	t.Logf("sync: %d acknowledged commits, %d lost, %d failed writes", len(host.Acks()), len(missing), host.Stats().Failures)
}
