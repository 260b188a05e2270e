//go:build e2e && e2enodes

package e2enodes

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// The bounds of a node loss on the local cluster, from what decides them.
const (
	// nodeLostAfter is the test cluster's spec.failover.nodeLostAfterSeconds.
	nodeLostAfter = 20 * time.Second
	// nodeMonitor is how long after a node's last report the node
	// controller marks it Ready Unknown: kube-controller-manager's
	// --node-monitor-grace-period (50 s by default since Kubernetes 1.32;
	// hack/lib/cluster-components.sh leaves it) plus one
	// --node-monitor-period (5 s) for the check that sees it.
	nodeMonitor = 50*time.Second + 5*time.Second
	// passSlack covers the operator's pass that acts once the grace ends:
	// it is woken then (a notice's recheck), or else by its reconcile timer
	// (10 s, jittered by up to 20 %); a pass also waits up to 3 s for the
	// lost member's probe to time out. And the Event's write.
	passSlack = 12*time.Second + 3*time.Second + 5*time.Second
	// ackGap is the longest pause between two acknowledged writes through
	// -rw allowed while a replica is lost and replaced: the primary never
	// changes, and in sync mode ANY 1 of the replicas acknowledges.
	ackGap = 3 * time.Second
)

// nodeLostYAML is a sync cluster of 3, one member per node, whose members
// are replaced 20 s after their node is lost. The spread is hard like the
// other tests' (spreadYAML), but counts only the nodes a member may be
// scheduled to (nodeTaintsPolicy: Honor): with the default (Ignore) the
// lost node, tainted unreachable, still counts as a node with no member,
// and a replacement on either of the two others would break maxSkew 1, so
// it could only wait for the lost node.
func nodeLostYAML(name string) string {
	return framework.ClusterYAML(name, 3, fmt.Sprintf(`  replication:
    mode: sync
  failover:
    nodeLostAfterSeconds: %d
  pod:
    topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: DoNotSchedule
      nodeTaintsPolicy: Honor
      labelSelector:
        matchLabels:
          %s: %s
`, int(nodeLostAfter/time.Second), framework.ClusterLabel, name))
}

// A replica's node loses power (`node stop`) while writes go through -rw.
// The node controller marks the node Ready Unknown; nodeLostAfterSeconds
// later, not before, the operator replaces the replica (Event
// ReplaceLostMember naming the member, the node, how long it was lost, and
// the clone from the primary): its pod force-deleted, its node-local
// volume deleted, a new member cloned from the primary on another node,
// Ready and streaming. The primary never changes, writes keep being
// acknowledged, and none is lost. `node start`: the old member does not
// come back (its pod and volume are gone; the node's provisioner deletes
// its data), and the cluster is 3 members, one primary, Ready.
func TestNodeLostReplicaReplaced(t *testing.T) { testNodeLost(t, false) }

// The proof: the primary's node loses power. The cluster fails
// over after T (the old primary fenced itself: AwaitingSelfFence), and the
// old primary, now a member like any other on a lost node, is replaced
// nodeLostAfterSeconds after its node was marked lost, by a clone of the
// new primary elsewhere. Writes are acknowledged again from the failover
// on without a pause, none acknowledged is lost, and the old primary's
// acknowledgements all came before the stop. `node start`: nothing of the
// old primary comes back (no rewind: its pod and volume are gone).
func TestNodeLostPrimaryFailsOverThenReplaced(t *testing.T) { testNodeLost(t, true) }

func testNodeLost(t *testing.T, primaryLost bool) {
	f := setup(t)
	ns := f.Namespace(t, map[bool]string{false: "nodes-lost-replica", true: "nodes-lost-primary"}[primaryLost])
	const name = "lost"
	f.KubectlOK(t, nodeLostYAML(name), "-n", ns, "apply", "-f", "-")
	f.WaitReady(t, ns, name, readyTimeout)
	pw := f.Password(t, ns, name)
	T := fenceAfterT(t, f, ns, name)
	var victim string
	if primaryLost {
		victim, _ = primaryOnExtraNode(t, f, ns, name)
	}
	primary, replicas := f.Roles(t, ns, name)
	if !primaryLost {
		victim = replicaOnExtraNode(t, f, ns, replicas)
	}
	node := f.NodeOf(t, ns, victim)
	victimPod := f.Pod(t, ns, victim)
	victimIP, victimUID := victimPod.Status.PodIP, string(victimPod.UID)
	pvc, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), victim+"-data", metav1.GetOptions{})
	require.NoError(t, err)
	volume := pvc.Spec.VolumeName
	known := map[string]bool{primary: true}
	for _, r := range replicas {
		known[r] = true
	}
	t.Logf("%s: primary %s, replicas %v; losing %s (%s, volume %s) on %s", name, primary, replicas, victim, victimIP, volume, node)

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
	failuresBefore := host.Stats().Failures

	degraded := watchCondition(f, ns, name, v1alpha1.ConditionDegraded)
	available := watchCondition(f, ns, name, v1alpha1.ConditionPrimaryAvailable)
	started := false
	stopAt, err := f.NodeAction("stop", node)
	require.NoError(t, err)
	t.Cleanup(func() {
		if !started {
			_, _ = f.NodeAction("start", node)
		}
	})
	t.Logf("stopped %s; T = %s, nodeLostAfterSeconds = %s", node, T, nodeLostAfter)

	// The writes' reference: the primary before the stop, or the first
	// write the new one acknowledged.
	writesFrom := stopAt
	if primaryLost {
		firstNew := waitFailover(t, host, victimIP, T)
		t.Logf("stop → new primary's first acknowledged write: %s (%s, timeline %d)",
			firstNew.At.Sub(stopAt).Round(time.Millisecond), firstNew.Server, firstNew.Timeline)
		writesFrom = firstNew.At
	}

	lostAt := waitNodeLost(t, f, node, nodeMonitor+passSlack)
	t.Logf("stop → %s marked lost by the node controller: %s (Ready turned at %s)", node,
		lostAt.Sub(stopAt).Round(time.Second), lostAt.Format("15:04:05"))
	words := []string{victim, node, "cloned again from the primary"}
	if primaryLost {
		words = append(words, "the old primary "+victim)
	}
	replaced := waitEvent(t, f, ns, name, "ReplaceLostMember", lostAt.Add(nodeLostAfter+passSlack), words...)
	t.Logf("ReplaceLostMember at %s (stop + %s): %s", replaced.at.Format("15:04:05"), replaced.at.Sub(stopAt).Round(time.Second), replaced.message)
	// Events carry whole seconds, as the Ready condition's time does.
	assert.False(t, replaced.at.Before(lostAt.Add(nodeLostAfter)), "replaced %s after the node was marked lost, before nodeLostAfterSeconds %s",
		replaced.at.Sub(lostAt), nodeLostAfter)

	newMember := waitReplacement(t, f, ns, name, known, node)
	waitConverged(t, topo, 3, map[string]bool{victimUID: true}, true)
	t.Logf("stop → replacement %s on %s Ready and all 3 streaming: %s", newMember, f.NodeOf(t, ns, newMember), time.Since(stopAt).Round(time.Second))
	_, err = f.Kube.CoreV1().Pods(ns).Get(context.Background(), victim, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the lost member's pod %s is still in the API (%v)", victim, err)
	reasons := degraded.Stop()
	t.Logf("Degraded went through %v", reasons)
	assert.Contains(t, reasons, "True/NodeLost", "the operator did not say the member's node was lost")
	if reasons := available.Stop(); primaryLost {
		t.Logf("PrimaryAvailable went through %v", reasons)
		assert.Contains(t, reasons, "False/AwaitingSelfFence", "the operator did not wait for the old primary to fence itself")
	}

	// The node comes back: its old member does not.
	_, err = f.NodeAction("start", node)
	require.NoError(t, err)
	started = true
	startAt := time.Now()
	waitVolumeDeleted(t, f, volume, 2*time.Minute)
	t.Logf("start → the lost member's volume %s deleted by %s's provisioner: %s", volume, node, time.Since(startAt).Round(time.Second))
	netns, err := framework.NodeNetns(node)
	require.NoError(t, err)
	out, err := framework.NetnsPSQL(netns, victimIP, pw, "select pg_is_in_recovery()", 10*time.Second)
	assert.Error(t, err, "something at %s (the lost member's address) answered %q on %s after its start", victimIP, out, node)
	waitConverged(t, topo, 3, map[string]bool{victimUID: true}, true)
	f.WaitReady(t, ns, name, readyTimeout)
	endAt := time.Now()
	host.Stop()
	checkWritesAcrossLoss(t, f, topo, host, before, ns, name, primaryLost, pw, stopAt, writesFrom, endAt, failuresBefore)
}

// waitFailover waits for a write acknowledged by another server than the
// lost primary and checks that the old one acknowledged nothing after the
// stop (it was promoted past once it had fenced itself, after T).
func waitFailover(t *testing.T, host *framework.AckWriter, oldIP string, T time.Duration) framework.Ack {
	t.Helper()
	var firstNew framework.Ack
	framework.Eventually(t, T+2*time.Minute, "a write acknowledged by a new primary", func() (bool, error) {
		a, ok := host.FirstAckNotOn(oldIP)
		firstNew = a
		return ok, framework.Errorf("host writer %+v", host.Stats())
	})
	for _, a := range host.Acks() {
		if a.Server == oldIP && !a.Start.Before(firstNew.Start) {
			framework.Fail(t, "the old primary acknowledged id %d, begun after the new primary's first write", a.ID)
		}
	}
	return firstNew
}

// checkWritesAcrossLoss: one primary at a time (the same one all along
// when a replica was lost), writes acknowledged without a pause from
// writesFrom on, none failed when the primary stayed, none lost.
func checkWritesAcrossLoss(t *testing.T, f *framework.Framework, topo *framework.Topology, host *framework.AckWriter,
	before framework.PrimaryState, ns, name string, primaryLost bool, pw string, stopAt, writesFrom, endAt time.Time, failuresBefore int) {
	t.Helper()
	after, err := topo.CurrentPrimary()
	require.NoError(t, err)
	if primaryLost {
		assert.NotEqual(t, before.IP, after.IP, "no failover")
		assert.Greater(t, after.Timeline, before.Timeline, "no promotion")
	} else {
		assert.Equal(t, before.IP, after.IP, "the primary changed")
		assert.Equal(t, before.Timeline, after.Timeline, "a promotion happened")
		st := host.Stats()
		assert.Equal(t, failuresBefore, st.Failures, "writes failed while a replica was lost; last error: %s", st.LastError)
	}
	assert.Equal(t, after.Name, f.Cluster(t, ns, name).Status.Primary)
	for _, a := range host.Acks() {
		switch {
		case primaryLost && a.Server == before.IP && a.At.After(stopAt):
			framework.Fail(t, "ack %d by the lost primary %s after the stop", a.ID, a.Server)
		case a.Server != before.IP && a.Server != after.IP:
			framework.Fail(t, "ack %d by %s, neither the old primary %s nor the new %s", a.ID, a.Server, before.IP, after.IP)
		}
	}
	gap := longestGap(host.Acks(), writesFrom, endAt)
	assert.Less(t, gap, ackGap, "writes stalled while the lost member was replaced")
	missing, err := framework.MissingNodeAcks(after.IP, pw, host.Acks())
	require.NoError(t, err)
	assert.Empty(t, missing, "sync mode lost acknowledged commits: %s", framework.FormatIDs(missing, 20))
	t.Logf("%d acknowledged commits, %d failed writes, longest gap between acks from %s on %s, %d lost",
		len(host.Acks()), host.Stats().Failures-failuresBefore, writesFrom.Format("15:04:05"), gap.Round(time.Millisecond), len(missing))
}

// replicaOnExtraNode picks a replica that runs on an extra node (the first
// carries the operator and is never hit).
func replicaOnExtraNode(t *testing.T, f *framework.Framework, ns string, replicas []string) string {
	t.Helper()
	for _, r := range replicas {
		if f.NodeOf(t, ns, r) != operatorNode {
			return r
		}
	}
	framework.Fatalf(t, "no replica on an extra node: %v", replicas)
	return ""
}

// waitNodeLost waits until the node's Ready condition is no longer True
// and returns when it turned, as the node controller recorded it.
func waitNodeLost(t *testing.T, f *framework.Framework, node string, timeout time.Duration) time.Time {
	t.Helper()
	var turned time.Time
	framework.Eventually(t, timeout, node+" Ready Unknown or False", func() (bool, error) {
		n, err := f.Kube.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				turned = c.LastTransitionTime.Time
				return c.Status != corev1.ConditionTrue, framework.Errorf("Ready %s", c.Status)
			}
		}
		return false, framework.Errorf("no Ready condition")
	})
	return turned
}

// seenEvent is an Event of the cluster: when it was first recorded, and what it said.
type seenEvent struct {
	at      time.Time
	message string
}

// waitEvent waits, until deadline, for an Event on the cluster with the
// reason whose message contains every word.
func waitEvent(t *testing.T, f *framework.Framework, ns, cluster, reason string, deadline time.Time, words ...string) seenEvent {
	t.Helper()
	var found seenEvent
	framework.Eventually(t, max(time.Until(deadline), time.Second), "a "+reason+" Event naming "+strings.Join(words, ", "), func() (bool, error) {
		list, err := f.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
			FieldSelector: "involvedObject.name=" + cluster + ",reason=" + reason})
		if err != nil {
			return false, err
		}
		var seen []string
		for _, ev := range list.Items {
			if containsAll(ev.Message, words) {
				found = seenEvent{at: ev.FirstTimestamp.Time, message: ev.Message}
				if found.at.IsZero() {
					found.at = ev.EventTime.Time
				}
				return true, nil
			}
			seen = append(seen, ev.Message)
		}
		return false, framework.Errorf("%s Events: %q", reason, seen)
	})
	return found
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// waitReplacement waits for a member pod that is none of known, Ready,
// labelled replica, on another node than lost; it returns its name.
func waitReplacement(t *testing.T, f *framework.Framework, ns, cluster string, known map[string]bool, lost string) string {
	t.Helper()
	var name string
	framework.Eventually(t, readyTimeout, "a new replica Ready on another node than "+lost, func() (bool, error) {
		pods, err := f.ListMemberPods(ns, cluster)
		if err != nil {
			return false, err
		}
		var seen []string
		for _, p := range pods {
			if known[p.Name] {
				continue
			}
			seen = append(seen, fmt.Sprintf("%s on %q ready %v", p.Name, p.Spec.NodeName, framework.PodReady(&p)))
			if p.Spec.NodeName != "" && p.Spec.NodeName != lost && framework.PodReady(&p) &&
				p.Labels[framework.RoleLabel] == "replica" && p.DeletionTimestamp == nil {
				name = p.Name
				return true, nil
			}
		}
		return false, framework.Errorf("new members: %v", seen)
	})
	return name
}

// waitVolumeDeleted waits until the PersistentVolume is gone: the lost
// member's claim was deleted, and once its node is back that node's
// provisioner deletes the data and the volume.
func waitVolumeDeleted(t *testing.T, f *framework.Framework, volume string, timeout time.Duration) {
	t.Helper()
	framework.Eventually(t, timeout, "volume "+volume+" deleted", func() (bool, error) {
		pv, err := f.Kube.CoreV1().PersistentVolumes().Get(context.Background(), volume, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return false, framework.Errorf("phase %s", pv.Status.Phase)
	})
}

// longestGap is the longest time without an acknowledged write between
// from and to.
func longestGap(acks []framework.Ack, from, to time.Time) time.Duration {
	var gap time.Duration
	prev := from
	for _, a := range acks {
		if a.At.Before(from) || a.At.After(to) {
			continue
		}
		gap = max(gap, a.At.Sub(prev))
		prev = a.At
	}
	return max(gap, to.Sub(prev))
}
