//go:build e2e && e2enodes

package e2enodes

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// One node loses power (`node stop`) under two clusters while writes go
// through each one's -rw: on it, one cluster has a replica and the other
// its primary. Both cases share the node's stop, since each waits out the
// node controller (nearly a minute) before anything is replaced.
//
// The replica's cluster: the node controller marks the node Ready Unknown;
// nodeLostAfterSeconds later, not before, the operator replaces the
// replica (Event ReplaceLostMember naming the member, the node, how long it
// was lost, and the clone from the primary): its pod force-deleted, its
// node-local volume deleted, a new member cloned from the primary on
// another node, Ready and streaming. The primary never changes, writes keep
// being acknowledged, and none is lost.
//
// The primary's cluster (the proof): it fails over after T (the
// old primary fenced itself: AwaitingSelfFence), and the old primary, now
// a member like any other on a lost node, is replaced nodeLostAfterSeconds
// after its node was marked lost, by a clone of the new primary elsewhere.
// Writes are acknowledged again from the failover on without a pause, none
// acknowledged is lost, and the old primary's acknowledgements all came
// before the stop.
//
// `node start`: neither lost member comes back (their pods and volumes are
// gone, the node's provisioner deletes their data; no rewind), and each
// cluster is 3 members, one primary, Ready.
func TestNodeLost(t *testing.T) {
	f := setup(t)
	primaryCase := newLossCase(t, f, "nodes-lost-primary", true)
	replicaCase := newLossCase(t, f, "nodes-lost-replica", false)
	cases := []*lossCase{primaryCase, replicaCase}
	for _, c := range cases {
		c.waitReady(t, f)
	}
	node := primaryCase.pickVictim(t, f, "")
	replicaCase.pickVictim(t, f, node)
	for _, c := range cases {
		c.startWriting(t, f)
	}

	started := false
	stopAt, err := f.NodeAction("stop", node)
	require.NoError(t, err)
	t.Cleanup(func() {
		if !started {
			_, _ = f.NodeAction("start", node)
		}
	})
	t.Logf("stopped %s; nodeLostAfterSeconds = %s", node, nodeLostAfter)
	for _, c := range cases {
		c.waitWritesResume(t, stopAt)
	}
	lostAt := waitNodeLost(t, f, node, nodeMonitor+passSlack)
	t.Logf("stop → %s marked lost by the node controller: %s (Ready turned at %s)", node,
		lostAt.Sub(stopAt).Round(time.Second), lostAt.Format("15:04:05"))
	for _, c := range cases {
		c.checkReplaced(t, f, stopAt, lostAt)
	}

	// The node comes back: its old members do not.
	_, err = f.NodeAction("start", node)
	require.NoError(t, err)
	started = true
	startAt := time.Now()
	for _, c := range cases {
		c.checkGoneAfterStart(t, f, startAt)
	}
	for _, c := range cases {
		c.checkWrites(t, f, stopAt)
	}
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
