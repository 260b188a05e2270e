package cluster

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// reasonPrimaryVolumeDeleted is the Degraded reason when the primary's
// volume claim is being deleted and no switchover can save its writes.
const reasonPrimaryVolumeDeleted = "PrimaryVolumeDeleted"

// planPrimaryVolumeDeleted answers a deleted primary volume claim (a
// clean-up by label that caught a running cluster, say). The claim stays,
// Terminating, while the primary's pod uses it (pvc-protection), and the
// data goes when that pod stops: the next restart or failover would find
// the primary empty, or no primary at all. So the operator switches over
// first, to the healthy replica with the most WAL that keeps its own
// volume, while no write has to be lost; the old primary's pod then goes,
// its claim with it, and a new member is cloned in its place (planScale).
// A replica that lost its volume is replaced at once (planMissingPods).
func planPrimaryVolumeDeleted(in planInput) (action, bool) {
	p := in.obs.members.live().primary()
	if !primaryVolumeDeleting(p) || !p.healthy() || in.cluster.Spec.Failover.Disabled {
		return action{}, false
	}
	target := drainTarget(in, p) // plan_drain.go: healthy, keeps its volume, schedulable
	if target == nil {
		return action{}, false
	}
	return action{kind: actSwitchover, member: p.name, target: target.name, phase: v1alpha1.PhaseFailingOver,
		reason: fmt.Sprintf("the primary %s's volume claim %s is being deleted, and its data goes when its pod stops: "+
			"switching over to %s first, so no write is lost; %s is then cloned again as a new member",
			p.name, p.pvc.Name, target.name, p.name)}, true
}

// primaryVolumeDeleting: p's volume claim has a deletion timestamp.
func primaryVolumeDeleting(p *member) bool {
	return p != nil && p.pvc != nil && p.pvc.DeletionTimestamp != nil
}

// volumeNotices says, once per primary, when its claim is being deleted and
// the operator cannot switch over: its data goes when its pod stops.
func volumeNotices(in planInput) []notice {
	p := in.obs.members.live().primary()
	if !primaryVolumeDeleting(p) || !p.healthy() {
		return nil
	}
	why := whyNoSwitchover(in, p) // plan_drain.go
	if why == "" {
		return nil
	}
	return []notice{{
		condition: v1alpha1.ConditionDegraded, status: metav1.ConditionTrue, reason: reasonPrimaryVolumeDeleted,
		message: fmt.Sprintf("the primary %s's volume claim %s is being deleted, but %s: no switchover. Its data goes "+
			"when its pod stops; take a backup or copy the data now if the deletion was a mistake", p.name, p.pvc.Name, why),
		key: reasonPrimaryVolumeDeleted + "/" + p.name + "/" + string(p.pvc.UID),
	}}
}
