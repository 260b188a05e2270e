package cluster

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Members on lost nodes (observe_node_lost.go). A member whose node stays
// lost for spec.failover.nodeLostAfterSeconds is given up: its pod is
// force-deleted (grace 0: only the lost node's kubelet could confirm a
// graceful deletion, so one never completes) with its volume claim, and
// planScale clones a new member from the primary. The scheduler places it
// on another node: a lost node carries the node controller's NoSchedule
// taint, and nothing else ties a member to a node but its volume. A node
// back in time keeps its members, which rejoin by themselves (an old
// primary through pg_rewind).
//
// Only when its data cannot leave the node anyway: its volume is pinned to
// it (node-local storage) or its claim holds none yet. A volume that can
// move (network storage) is left to Kubernetes: the operator cannot tell a
// dead node from one cut off and still running the pod, and forcing the
// pod away then could start a second server on the same volume. Once the
// node is confirmed down (its Node deleted, or tainted out-of-service)
// Kubernetes removes the pod and planMissingPods starts the member again
// on its data elsewhere.
//
// Never the primary: failover comes first (its rules run before this one)
// and turns it into a replica. Never a member holding another database,
// never without a healthy primary to clone from, and one member at a time.

// actReplaceLost deletes a member on a lost node, pod (forced) and volume;
// apply_members.go's removeMember does it.
const actReplaceLost actionKind = "ReplaceLostMember"

// reasonNodeLost is the Degraded reason and Warning Event of members on
// lost nodes (nodeLostNotices).
const reasonNodeLost = "NodeLost"

// defaultNodeLostAfter is spec.failover.nodeLostAfterSeconds when unset
// (the CRD defaults it to the same value).
const defaultNodeLostAfter = 60 * time.Second

// nodeLostAfter is how long a member's node may be lost before the member
// is replaced.
func nodeLostAfter(pgc *v1alpha1.PostgresCluster) time.Duration {
	if s := pgc.Spec.Failover.NodeLostAfterSeconds; s > 0 {
		return time.Duration(s) * time.Second
	}
	return defaultNodeLostAfter
}

// lostMember is a member, not the primary, on a lost node.
type lostMember struct {
	m    *member
	loss nodeLoss
	due  time.Time // when it may be replaced
	keep string    // why it is never replaced while its node is lost ("": it is)
}

// lostMembers lists the members on lost nodes, by ordinal, leaving out
// the primary: the labelled one, and the one status names until another
// has taken over.
func lostMembers(in planInput) []lostMember {
	if !in.cluster.Status.Initialized {
		return nil
	}
	primary := labelledPrimary(in.obs.members)
	var out []lostMember
	for _, m := range in.obs.members.live() {
		loss, ok := in.obs.nodeLost[m.name]
		if !ok || m == primary || m.name == in.cluster.Status.Primary {
			continue
		}
		out = append(out, lostMember{m: m, loss: loss, due: loss.since.Add(nodeLostAfter(in.cluster)), keep: keepReason(in, m, loss)})
	}
	return out
}

// keepReason says why a member on a lost node is not replaced at all.
func keepReason(in planInput, m *member, loss nodeLoss) string {
	switch {
	case in.obs.isForeign(m.name):
		return "it holds another database (" + in.obs.safety.foreign[m.name] + "), whose volume the operator never deletes"
	case loss.volume == volumeMovable:
		return fmt.Sprintf("its volume can move to another node, but only once its pod is gone, and the operator does not "+
			"force that while %s may still run it; once %s is confirmed down, delete its Node or taint it "+
			"node.kubernetes.io/out-of-service=nodeshutdown:NoExecute, and %s starts again elsewhere on its volume",
			loss.node, loss.node, m.name)
	case loss.volume == volumeUnread:
		return "the operator could not read its PersistentVolume (" + loss.unread + "), so it cannot tell whether its data can leave the node"
	}
	return ""
}

// replaceBlocked says why a replacement that is due waits ("" when it
// may go now).
func replaceBlocked(in planInput) string {
	live := in.obs.members.live()
	if p := live.primary(); p == nil || !p.healthy() || !p.hasVolume() {
		return "a healthy primary runs to clone from"
	}
	if len(live) < int(in.cluster.Spec.Size) {
		return "the member replacing the last one is created" // planScale's turn
	}
	for _, m := range live {
		if _, lost := in.obs.nodeLost[m.name]; !lost && !m.healthy() {
			return m.name + " is ready (one member at a time)"
		}
	}
	return ""
}

// planNodeLost replaces the first member whose node has been lost for
// nodeLostAfter, when nothing keeps it and nothing blocks it. When blocked
// it gives way to the other rules (planScale adds the previous
// replacement); nodeLostNotices says what it waits for.
func planNodeLost(in planInput) (action, bool) {
	for _, l := range lostMembers(in) {
		if l.keep != "" || in.now.Before(l.due) {
			continue
		}
		if replaceBlocked(in) != "" {
			return action{}, false
		}
		return action{kind: actReplaceLost, member: l.m.name, phase: v1alpha1.PhaseRecovering, reason: fmt.Sprintf(
			"%s's node %s has been %s for %s (spec.failover.nodeLostAfterSeconds %d) and %s: "+
				"force-deleting its pod and deleting its volume claim; its data is cloned again from the primary %s, into a new member on another node",
			memberLabel(l.m), l.loss.node, l.loss.state, in.now.Sub(l.loss.since).Round(time.Second),
			int(nodeLostAfter(in.cluster)/time.Second), dataWhere(l.loss), in.obs.members.live().primary().name)}, true
	}
	return action{}, false
}

// memberLabel names a member on a lost node for the user: a failed-over
// primary keeps its fenced mark until its pod is gone.
func memberLabel(m *member) string {
	if m.fenced() {
		return "the old primary " + m.name
	}
	return "replica " + m.name
}

// dataWhere says why a member's data cannot leave its lost node.
func dataWhere(loss nodeLoss) string {
	if loss.volume == volumeNoData {
		return "its volume claim holds no data (not bound to a volume, or its volume is gone)"
	}
	return "its volume is on that node only"
}

// nodeLostNotices tell the user, once per member and state, about each
// member on a lost node (Degraded, reason NodeLost): when it is replaced,
// what it waits for, or why it is not. A pass is asked for when the wait
// ends, which no API event marks.
func nodeLostNotices(in planInput) []notice {
	var out []notice
	blocked := replaceBlocked(in)
	for _, l := range lostMembers(in) {
		head := fmt.Sprintf("%s's node %s is %s since %s", memberLabel(l.m), l.loss.node, l.loss.state,
			l.loss.since.UTC().Format(time.TimeOnly))
		n := notice{condition: v1alpha1.ConditionDegraded, status: metav1.ConditionTrue, reason: reasonNodeLost}
		switch {
		case l.keep != "":
			n.message, n.key = head+": not replaced: "+l.keep, "kept"
		case in.now.Before(l.due):
			n.message = fmt.Sprintf("%s and %s: unless the node is back by %s (spec.failover.nodeLostAfterSeconds %d), "+
				"it is replaced by a new member cloned from the primary on another node",
				head, dataWhere(l.loss), l.due.UTC().Format(time.TimeOnly), int(nodeLostAfter(in.cluster)/time.Second))
			n.key, n.recheck = "waiting", l.due.Sub(in.now)
		case blocked != "":
			n.message = fmt.Sprintf("%s and %s: it is replaced by a new member cloned from the primary on another node once %s",
				head, dataWhere(l.loss), blocked)
			n.key = "blocked"
		default:
			n.message = fmt.Sprintf("%s and %s: replacing it with a new member cloned from the primary on another node",
				head, dataWhere(l.loss))
			n.key = "replacing"
		}
		n.key = reasonNodeLost + "/" + l.m.name + "/" + l.loss.node + "/" + n.key
		out = append(out, n)
	}
	return out
}
