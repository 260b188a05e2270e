package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// A standby refuses to start with max_connections (or one of the other
// postgres.StandbyCheckedSettings) below the value its primary runs with:
// "recovery aborted because of insufficient parameter settings". The roll
// restarts replicas first, so lowering one of them used to leave the first
// replica restarted unable to start, for good, and the roll stopped there.
// When the primary waits to lower one, it restarts first, in place: it is
// stopped as for a switchover, but no replica is promoted; it comes back on
// its volume with the lower value, which its WAL carries to the replicas,
// and they are restarted after it. Writes pause while it restarts, as they
// would for a cluster of one member. The marker is status.switchoverTarget
// naming the primary itself, so an operator restarted meanwhile goes on.

// lowersStandbyChecked names the standby-checked settings m waits to lower
// at its next restart.
func lowersStandbyChecked(m *member) []string {
	if m.db == nil {
		return nil
	}
	return m.db.PendingDecrease
}

// inPlaceAttempt is what the actor remembers of the last restart of the
// primary in place: the member and the parameters it was restarted for,
// and whether it came back. A primary that cannot start with the lowered
// value (max_connections below superuser_reserved_connections, or a bad
// setting changed with it) fails, the cluster fails over, and the new
// primary waits to lower the same value: trying again would fail over
// again, for good. In memory: an operator restart tries once more.
type inPlaceAttempt struct {
	member, params string
	up             bool
}

// trackInPlace notes the primary restarted in place once it serves again,
// and names it when its attempt for the current parameters failed.
func (c *Cluster) trackInPlace(pgc *v1alpha1.PostgresCluster, obs *observation) string {
	a := &c.inPlace
	if a.member == "" || a.up {
		return ""
	}
	if p := obs.members.primary(); p != nil && p.name == a.member && p.healthy() {
		a.up = true
		return ""
	}
	if a.params != paramsFingerprint(pgc) || restartingInPlace(pgc.Status) {
		return ""
	}
	return a.member
}

// restartPrimaryFirst restarts the primary p in place, before any replica,
// unless that failed for the same parameters: then the roll stops there.
func restartPrimaryFirst(in planInput, p *member, lowered []string) action {
	if in.inPlaceFailed != "" {
		return action{kind: actWait, member: p.name, reason: fmt.Sprintf(
			"lowering %s needs the primary to restart first, and %s did not come back from its restart in place "+
				"with these parameters (see its Events and `kubectl logs`): fix spec.parameters",
			strings.Join(lowered, ", "), in.inPlaceFailed)}
	}
	reason := fmt.Sprintf("restarting the primary %s first, in place, to lower %s: a standby cannot start below its primary's value",
		p.name, strings.Join(lowered, ", "))
	if len(in.obs.members.live()) == 1 || in.cluster.Spec.Failover.Disabled {
		return action{kind: actDeletePod, member: p.name, reason: reason} // restarted on its volume (planPrimary)
	}
	return action{kind: actSwitchover, member: p.name, target: p.name, phase: v1alpha1.PhaseUpdating,
		reason: reason + "; no replica is promoted, writes pause until it is back"}
}

// restartingInPlace: the primary was stopped to restart in place
// (restartPrimaryFirst).
func restartingInPlace(st v1alpha1.PostgresClusterStatus) bool {
	return st.SwitchoverTarget != "" && st.SwitchoverTarget == st.Primary
}

// planRestartInPlace brings back on its volume a primary stopped to
// restart in place, once its pod is gone, instead of promoting a replica.
// Failover promotes past a fenced pod whose postgres has exited, without
// waiting for the pod to go; this waits (a pod of the same name can only
// be made then). Without its volume the cluster fails over as usual.
func planRestartInPlace(in planInput, live members) (action, bool) {
	if !restartingInPlace(in.cluster.Status) {
		return action{}, false
	}
	p := live.byName(in.cluster.Status.Primary)
	switch {
	case p == nil:
		return action{}, false
	case p.pod != nil && pastStopDeadline(in, p):
		return action{}, false // fail over instead
	case p.pod != nil:
		return action{kind: actWait, member: p.name, phase: v1alpha1.PhaseUpdating, reason: fmt.Sprintf(
			"restarting the primary %s in place: waiting until its stopped pod is gone", p.name)}, true
	}
	return action{kind: actRecreatePod, member: p.name, role: RolePrimary, bootstrap: BootstrapClone, phase: v1alpha1.PhaseUpdating,
		reason: fmt.Sprintf("restarting the primary %s on its volume, in place", p.name)}, true
}

// inPlaceGiveUp bounds the wait for the stopped primary's pod to go once
// its grace period is over: a node that stopped answering keeps it
// Terminating for good, and writes would wait as long.
const inPlaceGiveUp = 30 * time.Second

// pastStopDeadline: p's pod is still there inPlaceGiveUp after the end of
// its deletion's grace period (its DeletionTimestamp).
func pastStopDeadline(in planInput, p *member) bool {
	dt := p.pod.DeletionTimestamp
	return dt != nil && in.now.After(dt.Add(inPlaceGiveUp))
}

// endRestartInPlace clears the marker once the primary's pod is made
// again: should that pod fail, the cluster fails over as usual.
func (c *Cluster) endRestartInPlace(ctx context.Context, pgc *v1alpha1.PostgresCluster, act action) error {
	if act.kind != actRecreatePod || act.member != pgc.Status.SwitchoverTarget || !restartingInPlace(pgc.Status) {
		return nil
	}
	return c.writeStatus(ctx, pgc, func(st *v1alpha1.PostgresClusterStatus) { st.SwitchoverTarget = "" })
}
