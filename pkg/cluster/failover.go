package cluster

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// FencedAnnotation marks the pod of a primary the operator has given up on.
// It is set together with the removal of the role label, in one patch, so
// a fenced pod is never selected by -rw, never promoted, and always deleted.
const FencedAnnotation = "postgres-operator.dev/fenced"

// unreachableGrace is how long a primary whose pod looks fine may fail
// probes before it is failed over: a lone failed probe can be the
// operator's own network, not the primary.
const unreachableGrace = 5 * time.Second

// primaryStartupGrace is how long a primary's new container may stay on
// its way up (postgres.IsStarting: member.sh not yet running the
// postmaster, or PostgreSQL answering "starting up" through its crash
// recovery) before that silence counts as loss. On a saturated node the
// way up takes longer than unreachableGrace, and fencing a primary for it
// restarted the same crash recovery over and over.
const primaryStartupGrace = time.Minute

// recentCrash is how long after a container restart an unhealthy primary
// counts as crashed rather than merely slow.
const recentCrash = time.Minute

// primaryLost says whether the labelled primary is gone, and why. now and
// unreachableSince (zero when the last probe answered) come from the actor.
func primaryLost(m *member, now, unreachableSince time.Time) (bool, string) {
	if dead, why := primaryDead(m, now); dead {
		return true, why
	}
	// A member restoring from backups replays WAL in a server no client can
	// reach, for as long as the backups take: silence is its normal state,
	// and its end shows as its container's exit.
	restoring := m.pod.Annotations[BootstrapAnnotation] == BootstrapRecovery && m.db == nil
	if !restoring && !startingUp(m, now) && m.running() && m.dbErr != nil && !unreachableSince.IsZero() && now.Sub(unreachableSince) >= unreachableGrace {
		return true, fmt.Sprintf("PostgreSQL has not answered for %s", now.Sub(unreachableSince).Round(time.Second))
	}
	return false, ""
}

// startingUp: the member's container started less than
// primaryStartupGrace ago and its PostgreSQL is on its way up.
func startingUp(m *member, now time.Time) bool {
	cs := postgresContainerStatus(m.pod)
	if cs == nil || cs.State.Running == nil || !postgres.IsStarting(m.dbErr) {
		return false
	}
	return now.Sub(cs.State.Running.StartedAt.Time) < primaryStartupGrace
}

// primaryDead: the kubelet confirms the primary's end (its pod is being
// deleted or failed, its container exited or just crashed). These deaths
// take the fast path: no replica is asked whether the primary lives.
func primaryDead(m *member, now time.Time) (bool, string) {
	pod := m.pod
	switch {
	case pod.DeletionTimestamp != nil:
		return true, "its pod is being deleted"
	case pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded:
		return true, fmt.Sprintf("its pod is %s", pod.Status.Phase)
	}
	if cs := postgresContainerStatus(pod); cs != nil && !m.healthy() {
		if cs.State.Terminated != nil {
			return true, "its PostgreSQL container exited" + exitDetail(pod)
		}
		if last := cs.LastTerminationState.Terminated; last != nil && now.Sub(last.FinishedAt.Time) < recentCrash {
			return true, fmt.Sprintf("its PostgreSQL container crashed (exit code %d) and restarted", last.ExitCode)
		}
	}
	return false, ""
}

// PostgresExited reports whether the pod's PostgreSQL is dead and cannot
// come back: the pod is in a terminal phase, which it never leaves, or its
// restartPolicy is Never and the postgres container has terminated. The
// kubelet reports a container terminated only once its first process has
// exited, and the kernel ends every other process of the container's PID
// namespace before that exit completes, postmaster and backends included.
func PostgresExited(pod *corev1.Pod) bool {
	if podFailed(pod) {
		return true
	}
	cs := postgresContainerStatus(pod)
	return pod.Spec.RestartPolicy == corev1.RestartPolicyNever && cs != nil && cs.State.Terminated != nil
}

// podPostgresContainer is the pod's postgres container spec, nil if none.
func podPostgresContainer(pod *corev1.Pod) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == containerName {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

func postgresContainerStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	if pod == nil {
		return nil
	}
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == containerName {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// fenced reports whether the operator fenced this member's pod.
func (m *member) fenced() bool { return m.pod != nil && m.pod.Annotations[FencedAnnotation] == "true" }

// planFailover handles a lost or absent primary once the cluster is
// initialized. The order of its checks is what makes two primaries
// impossible: a fenced pod must be gone, or in a terminal phase, before
// anything is promoted, and a promoted-but-unlabelled member is labelled
// before any other promotion.
//
// A pod whose PostgreSQL has exited for good (see PostgresExited) is as
// good as gone. Waiting for it to vanish from the API would add the
// kubelet's status sync and clean-up, one to two seconds, to every failover
// after a crash.
func planFailover(in planInput) (action, bool) {
	if !in.cluster.Status.Initialized {
		return action{}, false
	}
	live := in.obs.members.live()
	if p := labelledPrimary(in.obs.members); p != nil {
		return planPrimaryLost(in, p)
	}
	for _, m := range in.obs.members {
		if m.fenced() && m.hasPod() {
			return action{kind: actFence, member: m.name, phase: v1alpha1.PhaseFailingOver,
				reason: fmt.Sprintf("deleting the fenced primary %s", m.name)}, true
		}
		if m.fenced() && !PostgresExited(m.pod) {
			if a, ok := planPastUnconfirmed(in, live, m); ok { // failover_fence.go
				return a, true
			}
			return action{kind: actWait, member: m.name, phase: v1alpha1.PhaseFailingOver,
				reason: fmt.Sprintf("fencing %s: waiting until its pod is gone before promoting", m.name)}, true
		}
	}
	if m := unlabelledPrimary(live); m != nil {
		return action{kind: actLabelPrimary, member: m.name, phase: v1alpha1.PhaseFailingOver,
			reason: fmt.Sprintf("%s was promoted: routing -rw to it", m.name)}, true
	}
	if a, ok := planVanished(in); ok { // vanished.go
		return a, true
	}
	if a, ok := planRestartInPlace(in, live); ok { // roll_in_place.go
		return a, true
	}
	if !in.cluster.Spec.Failover.Disabled {
		if a, ok := planPromotion(in, live); ok {
			return a, true
		}
	}
	return action{}, false
}

// planPrimaryLost fences the labelled primary when it is lost and failover
// is enabled and due, unless it is lost only to the operator's probes and
// a replica proves it alive (safety_vouch.go).
func planPrimaryLost(in planInput, p *member) (action, bool) {
	if in.cluster.Spec.Failover.Disabled {
		if p.hasPod() && podFailed(p.pod) {
			// Without failover a crashed primary restarts on its volume.
			return planReplaceFailed(in, p)
		}
		return planSwitchover(in, p)
	}
	lost, why := primaryLost(p, in.now, in.unreachableSince[p.name])
	if !lost {
		return planSwitchover(in, p)
	}
	if v := vouchedUnreachable(in, p); v != nil { // safety_vouch.go
		return holdFailover(p, v), true
	}
	if a, ok := waitWithoutStandby(in, p); ok {
		return a, true
	}
	if delay := time.Duration(in.cluster.Spec.Failover.DelaySeconds) * time.Second; delay > 0 {
		since := in.lostSince[p.name]
		if since.IsZero() || in.now.Sub(since) < delay {
			return action{kind: actWait, member: p.name, phase: v1alpha1.PhaseFailingOver,
				reason: fmt.Sprintf("primary %s is lost (%s); failing over after spec.failover.delaySeconds=%d", p.name, why, in.cluster.Spec.Failover.DelaySeconds)}, true
		}
	}
	return action{kind: actFence, member: p.name, phase: v1alpha1.PhaseFailingOver,
		reason: fmt.Sprintf("primary %s is lost: %s; fencing it", p.name, why)}, true
}

// noStandbyGrace is how long a primary with no standby to take over may be
// silent before the operator restarts it. Fencing it cannot lead to a
// failover, only to a restart and a crash recovery: on a saturated node
// (twenty clusters initialising at once on two cores) silences of 6–40 s
// were load, and restarting those primaries made them longer. A primary
// that is really hung is still restarted, later.
const noStandbyGrace = 2 * time.Minute

// waitWithoutStandby holds the fence of a primary that is lost only to
// silence when no standby could be promoted: for good while it answers
// that it is recovering (a restart would start that over), for
// noStandbyGrace otherwise. Deaths the kubelet confirms are not held.
func waitWithoutStandby(in planInput, p *member) (action, bool) {
	if anyStandby(in.obs.members.live(), p) {
		return action{}, false
	}
	if dead, _ := primaryDead(p, in.now); dead {
		return action{}, false
	}
	wait := func(why string) (action, bool) {
		return action{kind: actWait, member: p.name, phase: v1alpha1.PhaseFailingOver,
			reason: fmt.Sprintf("primary %s %s; no replica to fail over to", p.name, why)}, true
	}
	if recovering(p) {
		return wait(fmt.Sprintf("is still recovering (%v), and restarting it would only start its recovery over", p.dbErr))
	}
	since := in.unreachableSince[p.name]
	if silent := in.now.Sub(since); !since.IsZero() && silent < noStandbyGrace {
		return wait(fmt.Sprintf("has not answered for %s (%v): restarting it after %s of silence", silent.Round(time.Second), p.dbErr, noStandbyGrace))
	}
	return action{}, false
}

// recovering: the member's postmaster answers that it is starting up or
// recovering (not hung, not shutting down): it is working its way up.
func recovering(m *member) bool {
	return postgres.SQLState(m.dbErr) == "57P03" && postgres.IsStarting(m.dbErr)
}

// anyStandby reports whether a member other than p answers as a standby,
// something a failover could promote.
func anyStandby(live members, p *member) bool {
	for _, m := range live {
		if m.name != p.name && m.db != nil && m.db.InRecovery {
			return true
		}
	}
	return false
}

// labelledPrimary is the member whose pod carries the primary label, even
// a pod being deleted: until it is gone it may still accept writes.
func labelledPrimary(ms members) *member {
	for _, m := range ms {
		if m.pod != nil && m.role() == RolePrimary {
			return m
		}
	}
	return nil
}

// unlabelledPrimary is a member answering as a primary without the label:
// a promotion whose labelling did not happen yet (an operator crash).
func unlabelledPrimary(live members) *member {
	for _, m := range live {
		if m.hasPod() && !m.fenced() && m.isPrimary() {
			return m
		}
	}
	return nil
}

// planPromotion picks the replica that has the most WAL. In sync mode
// every replica must answer first: a commit was acknowledged by any one of
// them, and only comparing all of them finds it. A replica of another
// database, or behind the cluster's timeline while another is on it, is
// never promoted (safety_identity.go).
func planPromotion(in planInput, live members) (action, bool) {
	var candidates, silent []*member
	var refused []string
	for _, m := range live {
		switch {
		case m.name == in.cluster.Status.Primary:
			// The old primary's volume rejoins as a replica; never promoted here.
		case m.running() && m.db != nil && m.db.InRecovery && in.obs.isForeign(m.name):
			refused = append(refused, fmt.Sprintf("not %s: %s", m.name, in.obs.safety.foreign[m.name]))
		case m.running() && m.db != nil && m.db.InRecovery:
			candidates = append(candidates, m)
		case m.hasVolume() && wasReady(in.cluster.Status, m.name):
			// A replica that never streamed (still cloning) holds no
			// acknowledged commit; one that was ready may.
			silent = append(silent, m)
		}
	}
	candidates, behind := onClusterTimeline(candidates, uint32(in.cluster.Status.Timeline))
	refused = append(refused, behind...)
	if len(candidates) == 0 {
		return action{}, false // nothing running to promote: disaster recovery restarts the last primary
	}
	if in.cluster.Spec.Replication.Mode == v1alpha1.ReplicationSync && len(silent) > 0 {
		return action{kind: actWait, phase: v1alpha1.PhaseFailingOver, reason: fmt.Sprintf(
			"sync mode: not promoting until every replica reports its WAL position; waiting for %s", names(silent))}, true
	}
	best := slices.MaxFunc(candidates, func(a, b *member) int {
		if c := compareLSN(a.db.Position(), b.db.Position()); c != 0 {
			return c
		}
		// A tie goes to the switchover target, then to the lowest ordinal.
		if t := in.cluster.Status.SwitchoverTarget; t == a.name || t == b.name {
			if t == a.name {
				return 1
			}
			return -1
		}
		return int(b.ordinal - a.ordinal)
	})
	reason := fmt.Sprintf("promoting %s, the replica with the most WAL (%s)", best.name, best.db.Position())
	if len(refused) > 0 {
		reason += "; " + strings.Join(refused, "; ")
	}
	return action{kind: actPromote, member: best.name, phase: v1alpha1.PhaseFailingOver, reason: reason}, true
}

// wasReady reports whether the stored status last saw the member ready.
func wasReady(st v1alpha1.PostgresClusterStatus, name string) bool {
	for _, ms := range st.MemberStatuses {
		if ms.Name == name {
			return ms.Ready
		}
	}
	return false
}

func compareLSN[T ~uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func names(ms []*member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.name
	}
	return out
}
