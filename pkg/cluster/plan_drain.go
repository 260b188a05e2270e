package cluster

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Node drains. `kubectl drain` cordons a node, then evicts its pods
// through the PodDisruptionBudget (pdb.go), which lets one member go at a
// time. A primary evicted that way is failed over; the operator does
// better when it sees the cordon first: it switches over, with the
// checkpoint and graceful fence of a requested switchover (switchover.go),
// to a replica the drain will not take next.

const reasonPrimaryNodeCordoned = "PrimaryNodeCordoned"

// planDrain switches over from a healthy primary whose node is cordoned to
// the healthy replica with the most WAL on a schedulable node. Without
// such a replica, or without automatic failover (the switchover ends in a
// promotion), it does nothing and drainNotices says why.
func planDrain(in planInput) (action, bool) {
	p := in.obs.members.live().primary()
	if p == nil || !p.healthy() || in.cluster.Spec.Failover.Disabled {
		return action{}, false
	}
	node, cordoned := in.obs.cordonedNode(p)
	if !cordoned {
		return action{}, false
	}
	target := drainTarget(in, p)
	if target == nil {
		return action{}, false
	}
	return action{kind: actSwitchover, member: p.name, target: target.name, phase: v1alpha1.PhaseFailingOver,
		reason: fmt.Sprintf("the primary's node %s is cordoned (draining): switching over to %s before it is evicted", node, target.name)}, true
}

// drainTarget is the healthy replica with the most WAL (the lowest ordinal
// on a tie) that keeps its volume and runs on a node known and not
// cordoned. The promotion that
// ends the switchover still picks the replica with the most WAL; the
// target wins a tie, which a clean shutdown makes the usual case.
func drainTarget(in planInput, p *member) *member {
	var best *member
	for _, m := range in.obs.members.live() {
		if m == p || !m.healthy() || !m.hasVolume() || in.obs.isForeign(m.name) || m.pod.Spec.NodeName == "" {
			continue
		}
		if _, cordoned := in.obs.cordonedNode(m); cordoned {
			continue
		}
		if best == nil || m.db.Position() > best.db.Position() {
			best = m
		}
	}
	return best
}

// whyNoSwitchover says why the operator cannot switch over from the
// primary p to save its writes ("" when it can).
func whyNoSwitchover(in planInput, p *member) string {
	switch {
	case in.cluster.Spec.Failover.Disabled:
		return "spec.failover.disabled is set, and a switchover ends in a promotion"
	case drainTarget(in, p) == nil:
		return "no healthy replica with a volume of its own runs on a schedulable node"
	}
	return ""
}

// drainNotices tells the user, once per primary and node, that a cordoned
// node's drain will stop writes because the operator cannot switch over.
func drainNotices(in planInput) []notice {
	p := in.obs.members.live().primary()
	if p == nil || !p.healthy() {
		return nil
	}
	node, cordoned := in.obs.cordonedNode(p)
	if !cordoned {
		return nil
	}
	why := whyNoSwitchover(in, p)
	if why == "" {
		return nil
	}
	return []notice{{
		condition: v1alpha1.ConditionDegraded, status: metav1.ConditionTrue, reason: reasonPrimaryNodeCordoned,
		message: fmt.Sprintf("the primary %s's node %s is cordoned (draining), but %s: no switchover; "+
			"evicting %s stops writes until it runs again", p.name, node, why, p.name),
		key: reasonPrimaryNodeCordoned + "/" + p.name + "/" + node,
	}}
}

// planDisruptionBudget creates each PodDisruptionBudget (pdb.go), or
// restores the fields the operator sets when someone changed them (or the
// cluster's size changed them). After the API refused one (a budget of
// that name that is not the operator's, a policy that forbids it) it waits
// before trying again. The action's target names the budget.
func planDisruptionBudget(in planInput) (action, bool) {
	if in.pdbRefused != "" {
		return action{}, false
	}
	for _, want := range buildPDBs(in.cluster) {
		switch have := in.obs.drain.pdbs[want.Name]; {
		case have == nil:
			return action{kind: actSyncPDB, target: want.Name, reason: fmt.Sprintf(
				"creating the PodDisruptionBudget %s: node drains take one replica at a time, and the primary only after a switchover", want.Name)}, true
		case !pdbAsBuilt(have, want):
			return action{kind: actSyncPDB, target: want.Name, reason: fmt.Sprintf(
				"restoring the PodDisruptionBudget %s (minAvailable %s)", want.Name, want.Spec.MinAvailable.String())}, true
		}
	}
	return action{}, false
}
