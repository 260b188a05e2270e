package cluster

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// actionKind names the one change a reconcile pass makes.
type actionKind string

const (
	actNone             actionKind = "None"            // converged
	actWait             actionKind = "Wait"            // something is in progress; reason says what
	actCreateSecrets    actionKind = "CreateSecrets"   // generate the superuser and replication Secrets
	actCreateServices   actionKind = "CreateServices"  // the -rw and -ro Services
	actCreateMember     actionKind = "CreateMember"    // a new ordinal: volume + pod (seed or replica)
	actRecreatePod      actionKind = "RecreatePod"     // a member's volume is there but its pod is not
	actFinishBootstrap  actionKind = "FinishBootstrap" // replication role, then status.initialized
	actRemoveMember     actionKind = "RemoveMember"    // scale down one replica
	actDeletePod        actionKind = "DeletePod"       // a pod whose volume is gone, or a roll
	actSyncReplication  actionKind = "SyncReplication" // slots and synchronous_standby_names on the primary
	actApplyParams      actionKind = "ApplyParameters" // ALTER SYSTEM on one member
	actFail             actionKind = "Fail"            // nothing the operator can do alone
	actFence            actionKind = "Fence"           // unlabel and delete a lost primary
	actPromote          actionKind = "Promote"         // promote the best replica
	actLabelPrimary     actionKind = "LabelPrimary"    // route -rw to a promoted member
	actSwitchover       actionKind = "Switchover"      // a requested, clean change of primary
	actRejectSwitchover actionKind = "RejectSwitchover"
	actGrowVolume       actionKind = "GrowVolume"       // raise one claim's storage request to spec.storage.size
	actReplaceSeed      actionKind = "ReplaceSeed"      // delete a seed that never initialised, pod and volume
	actSyncPDB          actionKind = "DisruptionBudget" // create or restore the PodDisruptionBudget
	actRepairService    actionKind = "RepairService"    // put back the selector of an edited Service
	actRestoreLabel     actionKind = "RestoreLabel"     // put back the cluster label of a member's pod
)

// action is the outcome of plan: one change and why.
type action struct {
	kind      actionKind
	member    string // the member acted on
	ordinal   int32  // for actCreateMember
	role      string // for pod creation
	bootstrap string // for pod creation
	target    string // for switchovers: the member to promote
	restart   bool   // for actDeletePod and actRecreatePod: replacing a failed pod (counts towards back-off)
	reason    string // a sentence for logs, Events and conditions
	// phase, when set, is the phase this action puts the cluster in.
	phase v1alpha1.ClusterPhase
	// failure, when set, is the reason of a Failed condition: the cluster
	// needs the user's help (the operator may still retry).
	failure string
	// blocked, when set on a converged pass, is the reason of the
	// Progressing condition: part of the spec cannot be applied as written.
	blocked string
	// seedSpec is, for a seed retry, the spec of the pod it deletes.
	seedSpec string
	// reclone marks a actRemoveMember that replaces a replica that can no
	// longer stream (counts towards its back-off, safety_stuck_replicas.go).
	reclone bool
	// notices are the safety rules' conditions and Events (safety_notices.go).
	notices []notice
}

// planInput is everything plan may look at. It is built by the actor from
// the listers, the probes and what SQL changes it has already applied.
type planInput struct {
	cluster *v1alpha1.PostgresCluster
	obs     *observation
	image   string
	// replicationDone is true when the primary's slots and synchronous
	// standby names match the membership.
	replicationDone bool
	// paramsPending names members whose parameters are not yet applied.
	paramsPending []string
	// paramsReloading is true within paramsReloadGrace of a parameter
	// change: a member's pg_settings may not show pending_restart yet.
	paramsReloading bool
	// now is the actor's clock; the maps say since when a member's
	// PostgreSQL has been unreachable and since when a primary is lost.
	now              time.Time
	unreachableSince map[string]time.Time
	lostSince        map[string]time.Time
	// lastAlive: when the lease holder was last known alive (failover_fence.go).
	lastAlive map[string]time.Time
	// restarts counts each member's failed pods replaced in a row.
	restarts map[string]int
	// primaryRestarts: primaries restarted on their volume (plan_primary_restart.go).
	primaryRestarts map[string]primaryRestarts
	// inPlaceFailed names the primary restarted in place for the current
	// parameters that did not come back, "" if none (roll_in_place.go).
	inPlaceFailed string
	// notStreamingSince says since when a running replica has not streamed.
	notStreamingSince map[string]time.Time
	// safety is the actor's memory for the safety rules (safety_input.go).
	safety safetyInput
	// growthRefused says why the API refused to grow volumes to the
	// spec's size ("" when it did not).
	growthRefused string
	// paramsRejected names the settings of spec.parameters PostgreSQL
	// refused, with its messages ("" when it refused none).
	paramsRejected string
	// pdbRefused says why the API refused the disruption budget, while the
	// operator waits to try again ("" when it did not).
	pdbRefused string
	// seedRetriedWith: the spec (podSeedSpec) of each seed pod the actor
	// deleted to retry it, until the seed is up.
	seedRetriedWith map[string]string
}

// plan is a pure function from the desired and observed state to the one
// action to take now. Rules are tried in order; the first that applies wins.
func plan(in planInput) action {
	if in.cluster.Spec.Paused {
		return action{kind: actNone, reason: "the cluster is paused"}
	}
	for _, rule := range []func(planInput) (action, bool){
		planCredentials,  // plan_secrets.go
		planCertificates, // plan_tls.go
		planServicesFirst,
		planRetain, // plan_retain.go: any time, never starved by waits
		planBootstrap,
		planStuckPods,      // plan_stuck.go: before failover's waits (a sync failover waits on every replica)
		planRoleLabels,     // plan_labels.go: a hand-made label must not confuse failover
		planDivergedLabels, // plan_diverged.go: out of -ro before it runs again
		planStrayPrimary,   // plan_stray_primary.go: a standby promoted by hand
		planFailover,
		planServices, // after failover once initialized: a Service it cannot make must not hold failover up
		planPrimary,
		planDrain,                // plan_drain.go: before the primary's node is emptied
		planPrimaryVolumeDeleted, // plan_volume_deleted.go: before the primary's data goes
		planPasswords,            // plan_secrets.go
		planManaged,              // plan_managed.go: only its own back-off stops it, never a wait
		planDisruptionBudget,     // plan_drain.go: before the waits of members coming up
		planNodeLost,             // plan_node_lost.go: after failover (a lost primary fails over first); before planMissingPods and planScale
		planMissingPods,
		planScale,
		planStuckReplicas,
		planReplication,
		planRepoint,             // repoint.go
		planRefreshCertificates, // tls_refresh.go
		planVolumes,
		planParameters,
		planRoll,
		planWaitHealthy,
	} {
		if a, ok := rule(in); ok {
			return a
		}
	}
	switch {
	case in.paramsRejected != "":
		// Nothing more to do until the spec changes: say what was skipped.
		return action{kind: actNone, blocked: reasonParameterRejected,
			reason: "the cluster is as specified, except: " + strings.Join(nonEmpty(in.paramsRejected, in.growthRefused), "; ")}
	case in.growthRefused != "":
		return action{kind: actNone, reason: "the cluster is as specified, but " + in.growthRefused}
	}
	return action{kind: actNone, reason: "the cluster is as specified"}
}

func nonEmpty(s ...string) []string {
	return slices.DeleteFunc(s, func(x string) bool { return x == "" })
}

// planServicesFirst makes a new cluster's Services before its first member,
// so its clients find it as soon as it is up.
func planServicesFirst(in planInput) (action, bool) {
	if in.cluster.Status.Initialized {
		return action{}, false
	}
	return planServices(in)
}

// planServices creates the -rw and -ro Services. (The password Secrets are
// planCredentials' business, which runs first.) Once the cluster is
// initialized it runs after failover: a Service deleted by hand whose name
// another object took fails to be made, pass after pass, and failover
// must not wait for that.
func planServices(in planInput) (action, bool) {
	name := in.cluster.Name
	if in.obs.services[RWServiceName(name)] == nil || in.obs.services[ROServiceName(name)] == nil {
		return action{kind: actCreateServices, reason: "creating the -rw and -ro Services"}, true
	}
	for _, want := range buildServices(in.cluster) {
		if drift := serviceDrift(in.obs.services[want.Name], want); drift != "" {
			return action{kind: actRepairService, target: want.Name, reason: fmt.Sprintf(
				"restoring Service %s, edited to %s: it must route to the %s only", want.Name, drift, routedTo(want))}, true
		}
	}
	return action{}, false
}

// routedTo names the members a Service of the cluster routes to.
func routedTo(svc *corev1.Service) string {
	if svc.Spec.Selector[RoleLabel] == RolePrimary {
		return "primary"
	}
	return "replicas"
}

// planBootstrap creates the seed and waits for it until the cluster is
// initialized. The seed's name comes from the ordinal recorded in status, so
// an operator restarted mid-bootstrap finds the same seed instead of
// creating a second one.
func planBootstrap(in planInput) (action, bool) {
	st := in.cluster.Status
	if st.Initialized {
		return action{}, false
	}
	live := in.obs.members.live()
	if a, ok := planRecoveryIntoSource(in); ok && len(live) == 0 {
		return a, true // backup_plan.go
	}
	if len(live) == 0 {
		ord := max(st.LastOrdinal, in.obs.members.maxOrdinal()) + 1
		return action{kind: actCreateMember, ordinal: ord, member: MemberName(in.cluster.Name, ord),
			role: RolePrimary, bootstrap: seedBootstrap(in.cluster), reason: "creating the seed member, which " + seedWork(in.cluster)}, true
	}
	seed := live[0]
	if a, ok := planRetriedSeed(in, seed); ok && seed.pod == nil {
		return a, true
	}
	switch {
	case seed.pod == nil:
		return action{kind: actRecreatePod, member: seed.name, role: RolePrimary, bootstrap: seedBootstrap(in.cluster),
			reason: fmt.Sprintf("recreating the seed pod %s on its volume", seed.name)}, true
	case seed.podReady() && seed.isPrimary():
		return action{kind: actFinishBootstrap, member: seed.name,
			reason: fmt.Sprintf("seed %s is up: creating the replication role", seed.name)}, true
	}
	if a, ok := planStuckSeed(in, seed); ok {
		return a, true
	}
	return seedWait(in, seed), true
}

// planPrimary makes sure a primary exists once the cluster is initialized.
func planPrimary(in planInput) (action, bool) {
	live := in.obs.members.live()
	if len(live) == 0 {
		return planVolumesLost(in) // backup_plan.go
	}
	if live.primary() != nil {
		return action{}, false
	}
	// No pod is labelled primary and failover found no replica to promote:
	// bring back the last known primary on its volume (this is disaster
	// recovery when every pod is gone).
	last := live.byName(in.cluster.Status.Primary)
	switch {
	case last != nil && last.pod == nil:
		return planRestartPrimary(in, last), true
	case last != nil:
		return action{kind: actWait, member: last.name, reason: fmt.Sprintf("waiting for the primary %s", last.name)}, true
	}
	// The last primary's volume is gone too: start the replicas on theirs
	// so failover can compare their WAL and promote the most advanced.
	for _, m := range live {
		if m.pod == nil {
			return action{}, false
		}
	}
	return action{kind: actWait, phase: v1alpha1.PhaseRecovering, reason: fmt.Sprintf(
		"the last primary %q has no volume left: waiting for a replica to report its WAL position", in.cluster.Status.Primary)}, true
}

// planMissingPods recreates the pods of members that still have a volume:
// they resume from their data without a re-clone. A pod whose volume is
// gone is deleted so that the member is re-cloned.
func planMissingPods(in planInput) (action, bool) {
	for _, m := range in.obs.members {
		if m.hasVolume() && m.pod == nil {
			return action{kind: actRecreatePod, member: m.name, role: RoleReplica, bootstrap: BootstrapClone,
				reason: fmt.Sprintf("recreating the pod of replica %s on its volume", m.name)}, true
		}
		if m.hasPod() && !m.hasVolume() && m.role() != RolePrimary {
			return action{kind: actDeletePod, member: m.name,
				reason: fmt.Sprintf("replica %s lost its volume: replacing it", m.name)}, true
		}
		if m.hasPod() && podFailed(m.pod) && m.role() != RolePrimary {
			return planReplaceFailed(in, m)
		}
	}
	return action{}, false
}

// planReplaceFailed deletes a failed pod so it is recreated on its volume,
// backing off when the same member keeps failing.
func planReplaceFailed(in planInput, m *member) (action, bool) {
	wait := restartBackoff(in.restarts[m.name])
	if finished := podFinishedAt(m.pod); !finished.IsZero() && in.now.Sub(finished) < wait {
		return action{kind: actWait, member: m.name, reason: fmt.Sprintf(
			"%s failed %d times in a row: restarting it %s after its last failure", m.name, in.restarts[m.name], wait)}, true
	}
	return action{kind: actDeletePod, member: m.name, restart: true,
		reason: fmt.Sprintf("%s's container exited%s: replacing its pod", m.name, exitDetail(m.pod))}, true
}

// restartBackoff is 0 for a first failure, then doubles from 1 s to 1 min.
func restartBackoff(failures int) time.Duration {
	if failures == 0 {
		return 0
	}
	return min(time.Second<<min(failures-1, 6), time.Minute)
}

// podFailed: with restartPolicy Never, an exited container ends the pod.
func podFailed(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
}

func podFinishedAt(pod *corev1.Pod) time.Time {
	if cs := postgresContainerStatus(pod); cs != nil && cs.State.Terminated != nil {
		return cs.State.Terminated.FinishedAt.Time
	}
	return time.Time{}
}

// planScale adds or removes one member at a time. Replicas are added only
// while the primary is healthy (they clone from it); removal takes the
// highest ordinal that is not the primary.
func planScale(in planInput) (action, bool) {
	live := in.obs.members.live()
	size := int(in.cluster.Spec.Size)
	primary := live.primary()
	switch {
	case len(live) < size:
		// A primary whose volume is being deleted is about to be lost: a
		// replica cloned from it would wait for it forever, and would hold
		// off the recovery from backups when every volume is gone.
		if primary == nil || !primary.healthy() || !primary.hasVolume() {
			return action{kind: actWait, reason: "waiting for a healthy primary before adding a replica"}, true
		}
		ord := max(in.cluster.Status.LastOrdinal, in.obs.members.maxOrdinal()) + 1
		return action{kind: actCreateMember, ordinal: ord, member: MemberName(in.cluster.Name, ord),
			role: RoleReplica, bootstrap: BootstrapClone,
			reason: fmt.Sprintf("scaling up to %d: adding replica %s", size, MemberName(in.cluster.Name, ord))}, true
	case len(live) > size:
		victims := slices.Clone(live)
		slices.Reverse(victims)
		for _, m := range victims {
			if m != primary && m.name != in.cluster.Status.Primary && !in.obs.isForeign(m.name) {
				return action{kind: actRemoveMember, member: m.name,
					reason: fmt.Sprintf("scaling down to %d: removing replica %s", size, m.name)}, true
			}
		}
	}
	return action{}, false
}

func planReplication(in planInput) (action, bool) {
	if in.replicationDone {
		return action{}, false
	}
	return action{kind: actSyncReplication, reason: "updating replication slots and synchronous standbys"}, true
}

func planParameters(in planInput) (action, bool) {
	if len(in.paramsPending) == 0 {
		return action{}, false
	}
	m := in.paramsPending[0]
	return action{kind: actApplyParams, member: m, reason: fmt.Sprintf("applying parameters on %s", m)}, true
}

// planRoll restarts one member whose pod is out of date (image, resources,
// scheduling) or whose PostgreSQL waits for a restart, only while every
// member is healthy: replicas first, highest ordinal first, primary last;
// the primary first when it lowers a setting standbys check against it
// (roll_in_place.go).
func planRoll(in planInput) (action, bool) {
	live := in.obs.members.live()
	if len(live) != int(in.cluster.Spec.Size) {
		return action{}, false
	}
	for _, m := range live {
		if !m.healthy() {
			return action{}, false
		}
	}
	if p := live.primary(); p != nil {
		if lowered := lowersStandbyChecked(p); len(lowered) > 0 {
			return restartPrimaryFirst(in, p, lowered), true // roll_in_place.go
		}
	}
	var stale []*member
	for _, m := range live {
		if needsRestart(in, m) {
			stale = append(stale, m)
		}
	}
	slices.SortFunc(stale, func(a, b *member) int {
		if (a.role() == RolePrimary) != (b.role() == RolePrimary) {
			if a.role() == RolePrimary {
				return 1
			}
			return -1
		}
		return int(b.ordinal - a.ordinal)
	})
	if len(stale) == 0 {
		return action{}, false
	}
	m := stale[0]
	if m.role() == RolePrimary {
		if in.paramsReloading && len(live) > 1 {
			// A replica that has not yet reloaded looks up to date; rolling
			// the primary now would switch over to it before its own restart
			// (which may fail on the new value). The next pass sees it.
			return action{}, false
		}
		return rollPrimary(in, m), true // switchover.go
	}
	return action{kind: actDeletePod, member: m.name, reason: fmt.Sprintf("restarting %s (%s) to apply changes", m.name, m.role())}, true
}

// needsRestart reports whether a member's pod must be recreated.
func needsRestart(in planInput, m *member) bool {
	if m.pod.Annotations[SpecHashAnnotation] != podSpecHash(in.cluster, in.image) {
		return true
	}
	return m.db != nil && len(m.db.PendingRestart) > 0
}

// planWaitHealthy explains what the cluster is waiting for when nothing
// is left to do but members are not healthy yet.
func planWaitHealthy(in planInput) (action, bool) {
	for _, m := range in.obs.members.live() {
		if !m.healthy() {
			why := ""
			if m.hasPod() && podNeverStarted(m.pod) {
				why = ": its pod has not started (" + whyNotStarted(m) + ")"
			}
			return action{kind: actWait, member: m.name, reason: fmt.Sprintf("waiting for %s to become ready%s", m.name, why)}, true
		}
	}
	return action{}, false
}

// planStuckReplicas is in safety_stuck_replicas.go.
