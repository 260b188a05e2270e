package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// switchoverGrace lets the old primary's fast shutdown send its last WAL to
// every replica, so a switchover loses no commit.
const switchoverGrace = 30

// planSwitchover acts on the switchover annotation while the primary is
// healthy: the primary is fenced gracefully, and failover then promotes the
// target (recorded in status so an operator restart keeps it).
func planSwitchover(in planInput, p *member) (action, bool) {
	req := in.cluster.Annotations[v1alpha1.SwitchoverAnnotation]
	if req == "" || req == in.cluster.Status.LastSwitchover {
		return action{}, false
	}
	if !p.healthy() {
		return action{kind: actWait, member: p.name, reason: fmt.Sprintf("switchover to %q requested: waiting for a healthy primary", req)}, true
	}
	target := switchoverTarget(in.obs.members.live(), p, req)
	switch {
	case target == nil:
		return action{kind: actRejectSwitchover, target: req, reason: fmt.Sprintf(
			"switchover to %q refused: it is not a healthy streaming replica of this cluster", req)}, true
	case target == p:
		return action{kind: actRejectSwitchover, target: req, reason: fmt.Sprintf("switchover to %q: it is already the primary", req)}, true
	}
	return action{kind: actSwitchover, member: p.name, target: target.name, phase: v1alpha1.PhaseFailingOver,
		reason: fmt.Sprintf("switching over from %s to %s", p.name, target.name)}, true
}

// switchoverTarget resolves the request: a member name, or "any" for the
// replica with the most WAL.
func switchoverTarget(live members, primary *member, req string) *member {
	if req != "any" {
		m := live.byName(req)
		if m == primary || (m != nil && m.healthy()) {
			return m
		}
		return nil
	}
	var best *member
	for _, m := range live {
		if m != primary && m.healthy() && (best == nil || m.db.Position() > best.db.Position()) {
			best = m
		}
	}
	return best
}

// rollPrimary restarts the primary last, by a switchover: the replica with
// the most WAL (every replica is healthy and up to date, or planRoll would
// not be here) becomes the primary, and the old primary's pod, fenced
// gracefully, is recreated as a replica with the new spec. Writes pause
// for one clean promotion instead of waiting for the old primary to come
// back. A cluster of one member, or without automatic failover (which the
// promotion goes through), has its primary's pod deleted as before.
func rollPrimary(in planInput, p *member) action {
	reason := fmt.Sprintf("restarting %s (primary) to apply changes", p.name)
	target := switchoverTarget(in.obs.members.live(), p, "any")
	if target == nil || in.cluster.Spec.Failover.Disabled {
		return action{kind: actDeletePod, member: p.name, reason: reason}
	}
	return action{kind: actSwitchover, member: p.name, target: target.name, phase: v1alpha1.PhaseUpdating,
		reason: fmt.Sprintf("%s: switching over to %s first; %s comes back as a replica", reason, target.name, p.name)}
}

// switchover checkpoints (so the shutdown checkpoint is quick), records the
// target, then fences the primary with a grace period long enough for a
// clean shutdown. A roll's switchover (no new request in the annotation)
// leaves status.lastSwitchover as it is.
func (c *Cluster) switchover(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) error {
	if ep, err := primaryEndpoint(pgc, obs); err == nil {
		if err := c.cfg.Postgres.Checkpoint(ctx, ep); err != nil {
			return err
		}
	}
	req := pgc.Annotations[v1alpha1.SwitchoverAnnotation]
	if err := c.writeStatus(ctx, pgc, func(st *v1alpha1.PostgresClusterStatus) {
		st.SwitchoverTarget = act.target
		if req != "" {
			st.LastSwitchover = req
		}
	}); err != nil {
		return err
	}
	return c.fenceWithGrace(ctx, pgc, obs, act.member, switchoverGrace)
}

// rejectSwitchover records that a request was handled without acting.
func (c *Cluster) rejectSwitchover(ctx context.Context, pgc *v1alpha1.PostgresCluster, act action) error {
	c.cfg.Recorder.Event(pgc, corev1.EventTypeWarning, "SwitchoverRefused", act.reason)
	return c.writeStatus(ctx, pgc, func(st *v1alpha1.PostgresClusterStatus) { st.LastSwitchover = act.target })
}
