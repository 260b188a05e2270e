//go:build e2e && e2enodes

package e2enodes

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// lossCase is one cluster of TestNodeLost: the member it loses with the
// node, and what it saw from before the stop to after the start.
type lossCase struct {
	primaryLost bool
	ns, name    string
	pw          string
	T           time.Duration

	node, victim         string
	victimIP, victimUID  string
	volume               string
	known                map[string]bool // the members before the loss
	topo                 *framework.Topology
	before               framework.PrimaryState
	host                 *framework.AckWriter
	failuresBefore       int
	degraded, available  *conditionWatch
	writesFrom, writesTo time.Time
}

// lossClusterName is each case's cluster, in a namespace of its own.
const lossClusterName = "lost"

func newLossCase(t *testing.T, f *framework.Framework, ns string, primaryLost bool) *lossCase {
	c := &lossCase{primaryLost: primaryLost, ns: f.Namespace(t, ns), name: lossClusterName}
	f.KubectlOK(t, nodeLostYAML(c.name), "-n", c.ns, "apply", "-f", "-")
	return c
}

func (c *lossCase) waitReady(t *testing.T, f *framework.Framework) {
	f.WaitReady(t, c.ns, c.name, readyTimeout)
	c.pw = f.Password(t, c.ns, c.name)
	c.T = fenceAfterT(t, f, c.ns, c.name)
}

// pickVictim chooses the member to lose: the primary, moved to an extra
// node when it is on the operator's; or the replica on node. It returns
// the victim's node.
func (c *lossCase) pickVictim(t *testing.T, f *framework.Framework, node string) string {
	if c.primaryLost {
		c.victim, _ = primaryOnExtraNode(t, f, c.ns, c.name)
	} else {
		c.victim = replicaOnNode(t, f, c.ns, c.name, node)
	}
	primary, replicas := f.Roles(t, c.ns, c.name)
	c.node = f.NodeOf(t, c.ns, c.victim)
	pod := f.Pod(t, c.ns, c.victim)
	c.victimIP, c.victimUID = pod.Status.PodIP, string(pod.UID)
	pvc, err := f.Kube.CoreV1().PersistentVolumeClaims(c.ns).Get(context.Background(), c.victim+"-data", metav1.GetOptions{})
	require.NoError(t, err)
	c.volume = pvc.Spec.VolumeName
	c.known = map[string]bool{primary: true}
	for _, r := range replicas {
		c.known[r] = true
	}
	t.Logf("%s: primary %s, replicas %v; losing %s (%s, volume %s) on %s", c.ns, primary, replicas, c.victim, c.victimIP, c.volume, c.node)
	return c.node
}

// replicaOnNode returns the cluster's member on node, switching the
// primary over to the operator's node first when it is that member.
func replicaOnNode(t *testing.T, f *framework.Framework, ns, name, node string) string {
	t.Helper()
	primary, replicas := f.Roles(t, ns, name)
	if f.NodeOf(t, ns, primary) == node {
		for _, r := range replicas {
			if f.NodeOf(t, ns, r) == operatorNode {
				switchoverTo(t, f, ns, name, r)
				return primary
			}
		}
		framework.Fatalf(t, "%s: no member on %s to switch over to", ns, operatorNode)
	}
	for _, r := range replicas {
		if f.NodeOf(t, ns, r) == node {
			return r
		}
	}
	framework.Fatalf(t, "%s: no member on %s: primary %s, replicas %v", ns, node, primary, replicas)
	return ""
}

// startWriting starts the writer through -rw and the condition watches.
func (c *lossCase) startWriting(t *testing.T, f *framework.Framework) {
	c.topo = f.NewTopology(c.ns, c.name, c.pw)
	var err error
	c.before, err = c.topo.CurrentPrimary()
	require.NoError(t, err)
	rw := f.ServiceIP(t, c.ns, c.name+"-rw")
	require.NoError(t, framework.CreateNodeAckTable(rw, c.pw))
	c.host = framework.StartHostWriter(c.ns, rw, c.pw, 1, 50*time.Millisecond)
	t.Cleanup(func() { stopAll(c.host) })
	framework.Eventually(t, time.Minute, c.ns+": writes acknowledged", func() (bool, error) {
		return c.host.Stats().Acked >= 20, framework.Errorf("%+v", c.host.Stats())
	})
	c.failuresBefore = c.host.Stats().Failures
	c.degraded = watchCondition(f, c.ns, c.name, v1alpha1.ConditionDegraded)
	c.available = watchCondition(f, c.ns, c.name, v1alpha1.ConditionPrimaryAvailable)
}

// waitWritesResume sets where the writes' checks start: the stop, or the
// first write a new primary acknowledged.
func (c *lossCase) waitWritesResume(t *testing.T, stopAt time.Time) {
	c.writesFrom = stopAt
	if !c.primaryLost {
		return
	}
	firstNew := waitFailover(t, c.host, c.victimIP, c.T)
	t.Logf("%s: stop → new primary's first acknowledged write: %s (%s, timeline %d)", c.ns,
		firstNew.At.Sub(stopAt).Round(time.Millisecond), firstNew.Server, firstNew.Timeline)
	c.writesFrom = firstNew.At
}

// checkReplaced waits for the lost member's replacement, not before
// nodeLostAfterSeconds, and checks what the conditions said meanwhile.
func (c *lossCase) checkReplaced(t *testing.T, f *framework.Framework, stopAt, lostAt time.Time) {
	words := []string{c.victim, c.node, "cloned again from the primary"}
	if c.primaryLost {
		words = append(words, "the old primary "+c.victim)
	}
	replaced := waitEvent(t, f, c.ns, c.name, "ReplaceLostMember", lostAt.Add(nodeLostAfter+passSlack), words...)
	t.Logf("%s: ReplaceLostMember at %s (stop + %s): %s", c.ns, replaced.at.Format("15:04:05"),
		replaced.at.Sub(stopAt).Round(time.Second), replaced.message)
	// Events carry whole seconds, as the Ready condition's time does.
	assert.False(t, replaced.at.Before(lostAt.Add(nodeLostAfter)), "%s: replaced %s after the node was marked lost, before nodeLostAfterSeconds %s",
		c.ns, replaced.at.Sub(lostAt), nodeLostAfter)

	newMember := waitReplacement(t, f, c.ns, c.name, c.known, c.node)
	waitConverged(t, c.topo, 3, map[string]bool{c.victimUID: true}, true)
	t.Logf("%s: stop → replacement %s on %s Ready and all 3 streaming: %s", c.ns, newMember, f.NodeOf(t, c.ns, newMember),
		time.Since(stopAt).Round(time.Second))
	_, err := f.Kube.CoreV1().Pods(c.ns).Get(context.Background(), c.victim, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "%s: the lost member's pod %s is still in the API (%v)", c.ns, c.victim, err)
	reasons := c.degraded.Stop()
	t.Logf("%s: Degraded went through %v", c.ns, reasons)
	assert.Contains(t, reasons, "True/NodeLost", "%s: the operator did not say the member's node was lost", c.ns)
	if reasons := c.available.Stop(); c.primaryLost {
		t.Logf("%s: PrimaryAvailable went through %v", c.ns, reasons)
		assert.Contains(t, reasons, "False/AwaitingSelfFence", "%s: the operator did not wait for the old primary to fence itself", c.ns)
	}
}

// checkGoneAfterStart: once the node is back, the lost member's volume is
// deleted, nothing answers at its address, and the cluster is Ready.
func (c *lossCase) checkGoneAfterStart(t *testing.T, f *framework.Framework, startAt time.Time) {
	waitVolumeDeleted(t, f, c.volume, 2*time.Minute)
	t.Logf("%s: start → the lost member's volume %s deleted by %s's provisioner: %s", c.ns, c.volume, c.node,
		time.Since(startAt).Round(time.Second))
	netns, err := framework.NodeNetns(c.node)
	require.NoError(t, err)
	out, err := framework.NetnsPSQL(netns, c.victimIP, c.pw, "select pg_is_in_recovery()", 10*time.Second)
	assert.Error(t, err, "%s: something at %s (the lost member's address) answered %q on %s after its start", c.ns, c.victimIP, out, c.node)
	waitConverged(t, c.topo, 3, map[string]bool{c.victimUID: true}, true)
	f.WaitReady(t, c.ns, c.name, readyTimeout)
	c.writesTo = time.Now()
}

// checkWrites stops the writer and checks its acknowledgements: one
// primary at a time (the same one all along when a replica was lost),
// writes acknowledged without a pause from writesFrom on, none failed when
// the primary stayed, none lost.
func (c *lossCase) checkWrites(t *testing.T, f *framework.Framework, stopAt time.Time) {
	c.host.Stop()
	after, err := c.topo.CurrentPrimary()
	require.NoError(t, err)
	if c.primaryLost {
		assert.NotEqual(t, c.before.IP, after.IP, "%s: no failover", c.ns)
		assert.Greater(t, after.Timeline, c.before.Timeline, "%s: no promotion", c.ns)
	} else {
		assert.Equal(t, c.before.IP, after.IP, "%s: the primary changed", c.ns)
		assert.Equal(t, c.before.Timeline, after.Timeline, "%s: a promotion happened", c.ns)
		st := c.host.Stats()
		assert.Equal(t, c.failuresBefore, st.Failures, "%s: writes failed while a replica was lost; last error: %s", c.ns, st.LastError)
	}
	assert.Equal(t, after.Name, f.Cluster(t, c.ns, c.name).Status.Primary)
	for _, a := range c.host.Acks() {
		switch {
		case c.primaryLost && a.Server == c.before.IP && a.At.After(stopAt):
			framework.Fail(t, "%s: ack %d by the lost primary %s after the stop", c.ns, a.ID, a.Server)
		case a.Server != c.before.IP && a.Server != after.IP:
			framework.Fail(t, "%s: ack %d by %s, neither the old primary %s nor the new %s", c.ns, a.ID, a.Server, c.before.IP, after.IP)
		}
	}
	gap := longestGap(c.host.Acks(), c.writesFrom, c.writesTo)
	assert.Less(t, gap, ackGap, "%s: writes stalled while the lost member was replaced", c.ns)
	missing, err := framework.MissingNodeAcks(after.IP, c.pw, c.host.Acks())
	require.NoError(t, err)
	assert.Empty(t, missing, "%s: sync mode lost acknowledged commits: %s", c.ns, framework.FormatIDs(missing, 20))
	t.Logf("%s: %d acknowledged commits, %d failed writes, longest gap between acks from %s on %s, %d lost", c.ns,
		len(c.host.Acks()), c.host.Stats().Failures-c.failuresBefore, c.writesFrom.Format("15:04:05"), gap.Round(time.Millisecond), len(missing))
}
