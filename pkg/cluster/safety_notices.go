package cluster

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// A notice is a situation the safety rules want the user to see while it
// lasts: a condition in status, and a Warning Event the first time (not
// once per pass). Notices are computed by a pure function of planInput, so
// they hold whatever action the pass takes: a held back re-clone does not
// block the passes that apply parameters or sync slots.
type notice struct {
	condition string // the condition type it sets
	status    metav1.ConditionStatus
	reason    string // the condition's reason, also the Event's
	message   string // no durations: a condition that changes every pass would be written every pass
	key       string // one Event per key while the notice lasts
	// recheck, when positive, asks for another pass then: the situation
	// can end without an API event (a replica's word going stale).
	recheck time.Duration
}

// safetyNotices lists the notices of this pass, most important first: for
// one condition type the first notice wins.
func safetyNotices(in planInput) []notice {
	if in.cluster.Spec.Paused {
		return nil
	}
	var out []notice
	out = append(out, foreignNotices(in)...)  // safety_identity.go
	out = append(out, imageNotices(in)...)    // safety_image.go
	out = append(out, streamNotices(in)...)   // safety_stuck_replicas.go
	out = append(out, vouchNotice(in)...)     // safety_vouch.go
	out = append(out, fenceNotices(in)...)    // failover_fence.go
	out = append(out, drainNotices(in)...)    // plan_drain.go
	out = append(out, volumeNotices(in)...)   // plan_volume_deleted.go
	out = append(out, nodeLostNotices(in)...) // plan_node_lost.go
	return out
}

// withNotices attaches this pass's notices to the action (status shows
// them), sends an Event for each new one and schedules the rechecks.
func (c *Cluster) withNotices(ctx context.Context, pgc *v1alpha1.PostgresCluster, in planInput, act action) action {
	act.notices = safetyNotices(in)
	if c.safety.announced == nil {
		c.safety.announced = map[string]bool{}
	}
	seen := map[string]bool{}
	recheck := failoverRecheck(in) // failover_fence.go
	for _, n := range act.notices {
		seen[n.key] = true
		if !c.safety.announced[n.key] {
			c.safety.announced[n.key] = true
			c.cfg.Recorder.Event(pgc, corev1.EventTypeWarning, n.reason, n.message)
			klog.FromContext(ctx).Info("Safety notice", "reason", n.reason, "message", n.message)
		}
		if n.recheck > 0 && (recheck == 0 || n.recheck < recheck) {
			recheck = n.recheck
		}
	}
	for key := range c.safety.announced {
		if !seen[key] {
			delete(c.safety.announced, key) // over: announce again if it comes back
		}
	}
	if recheck > 0 {
		c.pokeAfter(max(recheck, vanishedRecheck))
	}
	return act
}

// setSafetyConditions records the system identifier and lets the notices
// override the conditions setConditions derived from readiness alone.
func setSafetyConditions(st *v1alpha1.PostgresClusterStatus, pgc *v1alpha1.PostgresCluster, obs *observation, act action) {
	recordSystemIdentifier(st, obs)
	done := map[string]bool{}
	for _, n := range act.notices {
		if done[n.condition] {
			continue
		}
		done[n.condition] = true
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: n.condition, Status: n.status,
			Reason: n.reason, Message: n.message, ObservedGeneration: pgc.Generation})
	}
}
