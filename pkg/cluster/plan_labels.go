package cluster

import (
	"context"
	"fmt"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// actLabelReplica puts the replica label back on a standby whose role label
// was changed by hand.
const actLabelReplica actionKind = "LabelReplica"

// planRoleLabels corrects a role label that contradicts PostgreSQL: a pod
// labelled primary (or anything but replica) whose server answers as a
// standby was labelled by hand, and -rw would send writes to it (or -ro
// would miss it). Only a standby's label is corrected, so a real primary is
// never unlabelled here; fenced pods are failover's business, and a member
// the operator is promoting answers as a primary before it is labelled. A
// member labelled diverged keeps that label until it follows the primary
// (plan_diverged.go).
func planRoleLabels(in planInput) (action, bool) {
	p := in.obs.members.live().primary()
	for _, m := range in.obs.members {
		if !m.hasPod() || m.fenced() || m.db == nil || !m.db.InRecovery || m.role() == RoleReplica || staysDiverged(p, m) {
			continue
		}
		return action{kind: actLabelReplica, member: m.name, phase: in.cluster.Status.Phase, reason: fmt.Sprintf(
			"%s is a standby but its pod is labelled %s=%q: labelling it a replica, so that -rw routes only to the primary",
			m.name, RoleLabel, m.role())}, true
	}
	return action{}, false
}

// labelRole sets the member pod's role label.
func (c *Cluster) labelRole(ctx context.Context, pgc *v1alpha1.PostgresCluster, member, role string) error {
	patch := map[string]any{"metadata": map[string]any{"labels": map[string]any{RoleLabel: role}}}
	return c.patchPod(ctx, pgc.Namespace, member, patch)
}
