package cluster

import "fmt"

// actReplaceStrayPrimary deletes the pod of a member promoted outside the
// operator, so it comes back as a replica.
const actReplaceStrayPrimary actionKind = "ReplaceStrayPrimary"

// planStrayPrimary handles a standby promoted by hand (pg_promote(),
// pg_ctl promote) while the labelled primary serves: a second primary on a
// timeline of its own. Nothing else ends it: it has no replica and no
// member slot, so its fence probe keeps it alive; it never streams again,
// so it is no stuck replica; and in sync mode the primary's commits wait
// for it for good. planDivergedLabels has taken it out of -ro; here its pod
// is deleted, and it comes back as a replica of the primary (rewound or
// re-cloned by member.sh: what was written to it alone is not the
// cluster's). The operator's own promotions happen only once the labelled
// primary is fenced or gone, so they never match.
func planStrayPrimary(in planInput) (action, bool) {
	p := in.obs.members.live().primary()
	if !in.cluster.Status.Initialized || p == nil || p.fenced() || !p.healthy() {
		return action{}, false
	}
	for _, m := range in.obs.members.live() {
		if m == p || !m.hasPod() || m.fenced() || !m.isPrimary() || m.role() == RolePrimary {
			continue
		}
		return action{kind: actReplaceStrayPrimary, member: m.name, phase: in.cluster.Status.Phase, reason: fmt.Sprintf(
			"%s answers as a primary (timeline %d) beside the primary %s: it was promoted outside the operator; "+
				"replacing its pod so it returns as a replica of %s (anything written to %s alone since is discarded)",
			m.name, m.db.Timeline, p.name, p.name, m.name)}, true
	}
	return action{}, false
}
