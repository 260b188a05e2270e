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
		if proof := divergedProof(p, m); proof != "" {
			return action{kind: actLabelDiverged, member: m.name, phase: in.cluster.Status.Phase, reason: fmt.Sprintf(
				"replica %s holds WAL the primary %s never had: %s; labelling it %s=%q so -ro no longer routes to it",
				m.name, p.name, proof, RoleLabel, RoleDiverged)}, true
		}
	}
	return action{}, false
}

// staysDiverged: a member labelled diverged keeps the label until it
// streams from the primary p.
func staysDiverged(p, m *member) bool {
	return m.role() == RoleDiverged && !streamsFrom(p, m)
}
