//go:build e2e && e2enodes

package e2enodes

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// The operator gone for 2×T (its Deployment scaled to 0: nobody holds a
// heartbeat connection to the primary) while a cluster of 3 takes writes:
// the replicas' WAL streams keep the primary's lease, so nothing fences and
// nothing fails over. Checked every 200 ms over the whole outage:
// status.primary, the primary pod and its postgres container are the same
// (no restart), every member stays Ready, and writes through -rw keep
// being acknowledged (no failure, no gap over 2 s). Then the operator comes
// back, leads, and acts again (a parameter change reaches the primary).
func TestOperatorDown(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "nodes-opdown")
	const name = "opdown"
	pw := createSpread(t, f, ns, name, 3, "sync")
	T := fenceAfterT(t, f, ns, name)
	primary, _ := f.Roles(t, ns, name)
	pod := f.Pod(t, ns, primary)
	cid, err := framework.ContainerID(pod, "postgres")
	require.NoError(t, err)
	containers := map[string]string{}
	for _, p := range f.MemberPods(t, ns, name) {
		id, err := framework.ContainerID(&p, "postgres")
		require.NoError(t, err)
		containers[p.Name] = string(p.UID) + "/" + id
	}

	rw := f.ServiceIP(t, ns, name+"-rw")
	require.NoError(t, framework.CreateNodeAckTable(rw, pw))
	host := framework.StartHostWriter("host", rw, pw, 1, 50*time.Millisecond)
	t.Cleanup(func() { stopAll(host) })
	framework.Eventually(t, time.Minute, "writes acknowledged", func() (bool, error) {
		return host.Stats().Acked >= 20, framework.Errorf("%+v", host.Stats())
	})

	restored := false
	t.Cleanup(func() {
		if !restored {
			_ = f.ScaleOperator(2)
		}
	})
	downFrom := time.Now()
	require.NoError(t, f.ScaleOperator(0))
	downAt := time.Now()
	t.Logf("operator scaled to 0; no operator container runs after %s", downAt.Sub(downFrom).Round(time.Millisecond))
	failuresBefore := host.Stats().Failures

	// The invariant, checked over 2×T.
	deadline := downAt.Add(2 * T)
	checks := 0
	for time.Now().Before(deadline) {
		checks++
		pgc := f.Cluster(t, ns, name)
		require.Equal(t, primary, pgc.Status.Primary, "status.primary changed with the operator down")
		for _, p := range f.MemberPods(t, ns, name) {
			id, err := framework.ContainerID(&p, "postgres")
			require.NoError(t, err, "member %s not running with the operator down", p.Name)
			require.Equal(t, containers[p.Name], string(p.UID)+"/"+id, "member %s was restarted or replaced", p.Name)
			require.True(t, framework.PodReady(&p), "member %s not Ready", p.Name)
			for _, cs := range p.Status.ContainerStatuses {
				require.Zero(t, cs.RestartCount, "container %s of %s restarted", cs.Name, p.Name)
			}
		}
		out, err := framework.PSQLHost(pod.Status.PodIP, pw, "select pg_is_in_recovery()")
		require.NoError(t, err)
		require.Equal(t, "f", out, "%s is no longer a primary", primary)
		time.Sleep(200 * time.Millisecond)
	}
	endAt := time.Now()
	acks := host.Acks()
	st := host.Stats()
	assert.Equal(t, failuresBefore, st.Failures, "writes failed with the operator down; last error: %s", st.LastError)
	var maxGap time.Duration
	prev := downAt
	n := 0
	for _, a := range acks {
		if a.At.Before(downAt) || a.At.After(endAt) {
			continue
		}
		n++
		assert.Equal(t, pod.Status.PodIP, a.Server, "ack %d by another server than the primary", a.ID)
		maxGap = max(maxGap, a.At.Sub(prev))
		prev = a.At
	}
	maxGap = max(maxGap, endAt.Sub(prev))
	t.Logf("operator down for %s (2×T): %d checks, %d writes acknowledged, longest gap between acks %s, 0 failovers, container %.12s kept",
		endAt.Sub(downAt).Round(time.Millisecond), checks, n, maxGap.Round(time.Millisecond), cid)
	assert.Less(t, maxGap, 2*time.Second, "writes stalled with the operator down")

	// The operator comes back, leads, and acts.
	require.NoError(t, f.ScaleOperator(2))
	restored = true
	leader, err := f.WaitOperatorLeads(operatorNode, 2*time.Minute)
	require.NoError(t, err)
	t.Logf("operator back: %s leads %s after scaling up", leader, time.Since(endAt).Round(time.Millisecond))
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", name, "--type=merge", "-p", `{"spec":{"parameters":{"work_mem":"7MB"}}}`)
	f.WaitQuery(t, ns, primary, pw, "show work_mem", "7MB", 2*time.Minute)
	f.WaitReady(t, ns, name, readyTimeout)
	host.Stop()
	assert.Equal(t, primary, f.Cluster(t, ns, name).Status.Primary)
	missing, err := framework.MissingNodeAcks(pod.Status.PodIP, pw, host.Acks())
	require.NoError(t, err)
	assert.Empty(t, missing, "acknowledged commits missing: %s", fmt.Sprint(missing))
}
