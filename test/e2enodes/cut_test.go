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

// netnsIDs is where the writer inside the cut node starts its ids; the
// host's writer starts at 1.
const netnsIDs = 1_000_000_000

// The primary's node cut off from everything, in sync mode: the old
// primary fences itself, another member is promoted only after it did,
// and no acknowledged commit is lost.
func TestNodeCutPrimarySync(t *testing.T) { testNodeCutPrimary(t, "sync") }

// The same in async mode: commits the old primary acknowledged after the
// cut are lost, but all of them before it fenced itself.
func TestNodeCutPrimaryAsync(t *testing.T) { testNodeCutPrimary(t, "async") }

// testNodeCutPrimary: a cluster of 3, one member per node, the primary on
// an extra node. Two writers: one on the host through the -rw Service,
// one inside the primary's node writing straight to its pod IP, which the
// cut does not separate. Then the node is cut.
//
//   - The old primary stops: from inside its node, its address refuses
//     connections (its container was killed by the fence probe) within
//     T + 2 s (plus the polling's own latency) of the cut.
//   - One primary at a time: every commit acknowledged by the old primary
//     (by inet_server_addr(), on its timeline) was acknowledged before the
//     new primary's first acknowledged commit even began.
//   - A new primary is promoted and takes writes; the cluster said it
//     waited for the old one to fence itself (AwaitingSelfFence).
//   - heal: the old member rejoins as a replica after pg_rewind and the
//     cluster is Ready with 3 members streaming.
//   - sync: every acknowledged commit of either writer is on the new
//     primary. async: the missing ones were all acknowledged by the old
//     primary, before cut + T + 2 s.
func testNodeCutPrimary(t *testing.T, mode string) {
	f := setup(t)
	ns := f.Namespace(t, "nodes-cut-"+mode)
	const name = "cut"
	pw := createSpread(t, f, ns, name, 3, mode)
	T := fenceAfterT(t, f, ns, name)
	oldPrimary, node := primaryOnExtraNode(t, f, ns, name)
	netns, err := framework.NodeNetns(node)
	require.NoError(t, err)
	oldPod := f.Pod(t, ns, oldPrimary)
	oldIP, oldUID := oldPod.Status.PodIP, string(oldPod.UID)
	topo := f.NewTopology(ns, name, pw)
	before, err := topo.CurrentPrimary()
	require.NoError(t, err)

	rw := f.ServiceIP(t, ns, name+"-rw")
	require.NoError(t, framework.CreateNodeAckTable(rw, pw))
	host := framework.StartHostWriter("host", rw, pw, 1, 50*time.Millisecond)
	inner := framework.StartNetnsWriter("netns", netns, oldIP, pw, netnsIDs, 100*time.Millisecond)
	t.Cleanup(func() { stopAll(host, inner) })
	framework.Eventually(t, time.Minute, "both writers acknowledged", func() (bool, error) {
		h, i := host.Stats(), inner.Stats()
		return h.Acked >= 20 && i.Acked >= 10, framework.Errorf("host %+v, netns %+v", h, i)
	})

	cond := watchCondition(f, ns, name, v1alpha1.ConditionPrimaryAvailable)
	probe := framework.StartNetnsProbe(netns, oldIP, pw)
	t.Cleanup(probe.Stop)
	healed := false
	cutAt, err := f.NodeAction("cut", node)
	require.NoError(t, err)
	t.Cleanup(func() {
		if !healed {
			_, _ = f.NodeAction("heal", node)
		}
	})
	t.Logf("cut %s (primary %s, %s, timeline %d) at %s; T = %s", node, oldPrimary, oldIP, before.Timeline, cutAt.Format("15:04:05.000"), T)

	// The old primary fences itself, seen from inside its node: it stops
	// taking connections (the kubelet's kill begins with PostgreSQL's fast
	// shutdown) and later its container is gone.
	stopped, err := probe.WaitFirst(T+time.Minute, framework.OutcomeShuttingDown, framework.OutcomeRefused, framework.OutcomeNoRoute)
	require.NoError(t, err, "the cut-off primary never stopped")
	t.Logf("cut → old primary refuses connections (seen from %s: %s): %s", netns, stopped.Kind(), stopped.At.Sub(cutAt).Round(time.Millisecond))
	// The kill lands within T + 2 s of the last proof of life (README);
	// polling from the node adds up to ~0.5 s of its own.
	assert.LessOrEqual(t, stopped.At.Sub(cutAt), T+2*time.Second+500*time.Millisecond, "the old primary fenced itself late")
	fencedAt := stopped.At

	// A new primary takes writes through -rw.
	var firstNew framework.Ack
	framework.Eventually(t, 2*time.Minute, "a write acknowledged by a new primary", func() (bool, error) {
		a, ok := host.FirstAckNotOn(oldIP)
		firstNew = a
		return ok, framework.Errorf("host writer %+v", host.Stats())
	})
	inner.Stop()
	gone, err := probe.WaitFirst(time.Minute, framework.OutcomeRefused, framework.OutcomeNoRoute)
	probe.Stop()
	t.Logf("the old primary seen from %s:%s", netns, probe.Format())
	require.NoError(t, err, "the old primary's container was never killed")
	t.Logf("cut → old primary's container gone (%s): %s", gone.Kind(), gone.At.Sub(cutAt).Round(time.Millisecond))
	for _, o := range probe.History() {
		if o.At.After(stopped.At) && o.Outcome == "answers" {
			framework.Fail(t, "the old primary answered again at %s after it had stopped", o.At.Format("15:04:05.000"))
		}
	}
	reasons := cond.Stop()
	t.Logf("PrimaryAvailable went through %v", reasons)
	assert.Contains(t, reasons, "False/AwaitingSelfFence", "the operator did not wait for the old primary to fence itself")

	// One primary at a time, by the servers' own words.
	var oldAcks []framework.Ack
	var lastOld framework.Ack
	for _, a := range append(host.Acks(), inner.Acks()...) {
		switch {
		case a.Server == oldIP:
			assert.Equal(t, before.Timeline, a.Timeline, "ack %d by the old primary on another timeline", a.ID)
			oldAcks = append(oldAcks, a)
			if a.At.After(lastOld.At) {
				lastOld = a
			}
		case a.Server == firstNew.Server:
			assert.Greater(t, a.Timeline, before.Timeline, "ack %d by the new primary on an old timeline", a.ID)
		default:
			framework.Fail(t, "ack %d (%s) by a third server %s", a.ID, a.Writer, a.Server)
		}
	}
	require.NotEmpty(t, oldAcks)
	t.Logf("cut → old primary's last acknowledged write: %s (%s id %d); cut → new primary's first acknowledged write: %s (%s id %d, %s, timeline %d)",
		lastOld.At.Sub(cutAt).Round(time.Millisecond), lastOld.Writer, lastOld.ID,
		firstNew.At.Sub(cutAt).Round(time.Millisecond), firstNew.Writer, firstNew.ID, firstNew.Server, firstNew.Timeline)
	if !lastOld.At.Before(firstNew.Start) {
		framework.Fail(t, "two primaries took writes: the old primary acknowledged id %d at %s, after the new primary's first write began at %s",
			lastOld.ID, lastOld.At.Format("15:04:05.000"), firstNew.Start.Format("15:04:05.000"))
	}
	assert.True(t, lastOld.Start.Before(fencedAt), "an ack by the old primary for a commit begun after it was seen refusing connections")
	t.Logf("writers before heal: %s; netns %+v", ackSummary(append(host.Acks(), inner.Acks()...)), inner.Stats())

	// Heal: the old member rejoins as a replica.
	healAt, err := f.NodeAction("heal", node)
	require.NoError(t, err)
	healed = true
	waitRejoined(t, f, ns, oldPrimary, oldUID, pw)
	convergedAt := waitConverged(t, topo, 3, map[string]bool{oldUID: true}, mode == "sync")
	f.WaitReady(t, ns, name, readyTimeout)
	t.Logf("heal → %s rejoined as a replica and all 3 streaming, cluster Ready: %s", oldPrimary, convergedAt.Sub(healAt).Round(time.Millisecond))
	host.Stop()

	after, err := topo.CurrentPrimary()
	require.NoError(t, err)
	require.Equal(t, firstNew.Server, after.IP, "the primary changed again after the failover")
	acks := append(host.Acks(), inner.Acks()...)
	missing, err := framework.MissingNodeAcks(after.IP, pw, acks)
	require.NoError(t, err)
	byID := map[int64]framework.Ack{}
	for _, a := range acks {
		byID[a.ID] = a
	}
	if mode == "sync" {
		assert.Empty(t, missing, "sync mode lost acknowledged commits: %s", framework.FormatIDs(missing, 20))
		t.Logf("sync: %d acknowledged commits (%d by the old primary), 0 lost", len(acks), len(oldAcks))
		return
	}
	var afterCut int
	for _, id := range missing {
		a := byID[id]
		if a.Server != oldIP {
			framework.Fail(t, "lost id %d was acknowledged by %s, not the old primary", id, a.Server)
		}
		if a.At.After(cutAt.Add(T + 2*time.Second)) {
			framework.Fail(t, "lost id %d was acknowledged %s after the cut, later than T + 2 s", id, a.At.Sub(cutAt).Round(time.Millisecond))
		}
		if a.At.After(cutAt) {
			afterCut++
		}
	}
	t.Logf("async: %d acknowledged commits (%d by the old primary); %d lost, all acknowledged by the old primary before it fenced (%d of them after the cut); last lost at cut + %s",
		len(acks), len(oldAcks), len(missing), afterCut, lastLost(missing, byID, cutAt))
}

func lastLost(missing []int64, byID map[int64]framework.Ack, cutAt time.Time) time.Duration {
	var last time.Duration
	for _, id := range missing {
		last = max(last, byID[id].At.Sub(cutAt))
	}
	return last.Round(time.Millisecond)
}
