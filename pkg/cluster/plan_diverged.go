package cluster

import "fmt"

// actLabelDiverged takes a replica proven diverged out of -ro.
const actLabelDiverged actionKind = "LabelDiverged"

// planDivergedLabels labels a replica that holds WAL the primary never had
// (an async failover promoted a member behind it) RoleDiverged, so -ro no
// longer routes to it. Its readiness probe fails while its receiver
// re-streams the old timeline up to the fork, but not while the receiver
// still streams from the dead old primary: a replica frozen through the
// failover reads what the kernel buffered from it once it runs again, and
// was Ready, serving rows the cluster lost, until wal_receiver_timeout.
// What it replayed before the freeze proves it while it is still frozen
// (divergedProof), so the label comes first. It is re-cloned once it has
// not streamed for stuckTimeout (planStuckReplicas); the label goes back
// to replica only if it streams from the primary (planRoleLabels).
func planDivergedLabels(in planInput) (action, bool) {
	p := in.obs.members.live().primary()
	if !in.cluster.Status.Initialized || p == nil || !p.healthy() {
		return action{}, false
	}
	for _, m := range replicasOf(in, p) {
		if !m.hasPod() || m.fenced() || m.role() != RoleReplica {
			continue
		}
		if followsPrimary(p, m) {
			continue // streams the primary's own timeline: whatever it replayed, it follows now
		}
		if proof := divergedProof(p, m); proof != "" {
			return action{kind: actLabelDiverged, member: m.name, phase: in.cluster.Status.Phase, reason: fmt.Sprintf(
				"replica %s holds WAL the primary %s never had: %s; labelling it %s=%q so -ro no longer routes to it",
				m.name, p.name, proof, RoleLabel, RoleDiverged)}, true
		}
	}
	return action{}, false
}

// staysDiverged: a member labelled diverged keeps the label until it
// follows the primary p.
func staysDiverged(p, m *member) bool {
	return m.role() == RoleDiverged && !followsPrimary(p, m)
}

// followsPrimary: m streams, caught up with its replay, on the timeline
// the primary p writes. A diverged standby never does: the primary ends
// its stream at the fork, on the old timeline. So the label is never put
// on, or left on, a member that plainly follows, whatever a proof says.
func followsPrimary(p, m *member) bool {
	return p != nil && p.isPrimary() && m.caughtUp() && m.db.ReceiverTimeline == p.db.Timeline
}
