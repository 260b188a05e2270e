package cluster

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func at(lsn postgres.LSN) memberOpt {
	return func(m *member) { m.db.ReceivedLSN, m.db.ReplayedLSN = lsn, lsn }
}

// crashed: the container died and restarted seconds ago; not ready yet.
func crashed(m *member) {
	m.pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	m.pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: containerName, RestartCount: 1,
		State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, FinishedAt: metav1.NewTime(now.Add(-2 * time.Second))}},
	}}
	m.db = nil
}

func unreachable(m *member) {
	m.db = nil
	m.dbErr = &postgres.Error{Unreachable: true, Err: errors.New("connection refused")}
}

// exited: restartPolicy Never turned a container exit into a failed pod.
func exited(m *member) {
	m.pod.Status.Phase = corev1.PodFailed
	m.pod.Status.Conditions = nil
	m.pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, FinishedAt: metav1.NewTime(now.Add(-2 * time.Second))}}}}
	m.db = nil
}

// containerExited: the container has terminated; the kubelet has not yet
// moved the pod to its terminal phase.
func containerExited(m *member) {
	m.pod.Status.Conditions = nil
	m.pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, FinishedAt: metav1.NewTime(now.Add(-time.Second))}}}}
	m.db = nil
}

func fencedPod(m *member) {
	delete(m.pod.Labels, RoleLabel)
	m.pod.Annotations[FencedAnnotation] = "true"
}

func readyInStatus(names ...string) func(*v1alpha1.PostgresCluster) {
	return func(p *v1alpha1.PostgresCluster) {
		for _, n := range names {
			p.Status.MemberStatuses = append(p.Status.MemberStatuses, v1alpha1.MemberStatus{Name: n, Ready: true})
		}
	}
}

func failoverInput(pgc *v1alpha1.PostgresCluster, ms ...*member) planInput {
	in := input(pgc, obsOf(pgc, ms...))
	in.now = now
	in.unreachableSince = map[string]time.Time{}
	in.lostSince = map[string]time.Time{}
	return in
}

func TestPlanFailover(t *testing.T) {
	async := testCluster(3, initialized("demo-1", 3))
	sync := testCluster(3, initialized("demo-1", 3), readyInStatus("demo-2", "demo-3"),
		func(p *v1alpha1.PostgresCluster) { p.Spec.Replication.Mode = v1alpha1.ReplicationSync })
	disabled := testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.Disabled = true })
	delayed := testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.DelaySeconds = 30 })
	promotedStatus := testCluster(3, initialized("demo-3", 3))

	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		member string
		phase  v1alpha1.ClusterPhase
	}{
		{name: "deleted primary pod is fenced", in: failoverInput(async,
			testMember(async, 1, up(RolePrimary), terminating), testMember(async, 2, up(RoleReplica)), testMember(async, 3, up(RoleReplica))),
			kind: actFence, member: "demo-1", phase: v1alpha1.PhaseFailingOver},
		{name: "crashed primary container is fenced even though the kubelet restarted it", in: failoverInput(async,
			testMember(async, 1, up(RolePrimary), crashed), testMember(async, 2, up(RoleReplica)), testMember(async, 3, up(RoleReplica))),
			kind: actFence, member: "demo-1"},
		{name: "a fresh primary pod that is still starting is not lost", in: failoverInput(async,
			testMember(async, 1, starting(RolePrimary)), testMember(async, 2, up(RoleReplica)), testMember(async, 3, up(RoleReplica))),
			kind: actWait, member: "demo-1"},
		{name: "fenced pod still terminating: wait, never promote", in: failoverInput(async,
			testMember(async, 1, up(RolePrimary), fencedPod, terminating), testMember(async, 2, up(RoleReplica)), testMember(async, 3, up(RoleReplica))),
			kind: actWait, member: "demo-1", phase: v1alpha1.PhaseFailingOver},
		{name: "fenced pod of an exited primary, still being deleted: promote at once", in: failoverInput(async,
			testMember(async, 1, up(RolePrimary), exited, fencedPod, terminating), testMember(async, 2, up(RoleReplica), at(100)), testMember(async, 3, up(RoleReplica), at(200))),
			kind: actPromote, member: "demo-3", phase: v1alpha1.PhaseFailingOver},
		{name: "fenced pod whose container exited, phase not yet updated: promote at once", in: failoverInput(async,
			testMember(async, 1, up(RolePrimary), containerExited, fencedPod, terminating), testMember(async, 2, up(RoleReplica), at(300)), testMember(async, 3, up(RoleReplica), at(200))),
			kind: actPromote, member: "demo-2", phase: v1alpha1.PhaseFailingOver},
		{name: "container exited but the pod may restart it: wait until the pod is gone", in: failoverInput(async,
			testMember(async, 1, up(RolePrimary), containerExited, fencedPod, terminating, func(m *member) { m.pod.Spec.RestartPolicy = corev1.RestartPolicyAlways }),
			testMember(async, 2, up(RoleReplica), at(300)), testMember(async, 3, up(RoleReplica), at(200))),
			kind: actWait, member: "demo-1", phase: v1alpha1.PhaseFailingOver},
		{name: "fenced pod not yet deleted (operator crashed mid-fence): delete it", in: failoverInput(async,
			testMember(async, 1, up(RolePrimary), fencedPod), testMember(async, 2, up(RoleReplica)), testMember(async, 3, up(RoleReplica))),
			kind: actFence, member: "demo-1"},
		{name: "fenced pod gone: promote the replica with the most WAL", in: failoverInput(async,
			testMember(async, 1, noPod), testMember(async, 2, up(RoleReplica), at(100)), testMember(async, 3, up(RoleReplica), at(200))),
			kind: actPromote, member: "demo-3", phase: v1alpha1.PhaseFailingOver},
		{name: "force-deleted primary still answering: no promotion yet", in: func() planInput {
			in := failoverInput(async, testMember(async, 1, noPod), testMember(async, 2, up(RoleReplica)), testMember(async, 3, up(RoleReplica)))
			in.obs.safety.vanished = &vanishedCheck{member: "demo-1", addr: "10.0.0.9:5432", answered: true, at: now}
			return in
		}(), kind: actWait, phase: v1alpha1.PhaseFailingOver},
		{name: "a tie goes to the lowest ordinal", in: failoverInput(async,
			testMember(async, 1, noPod), testMember(async, 2, up(RoleReplica), at(200)), testMember(async, 3, up(RoleReplica), at(200))),
			kind: actPromote, member: "demo-2"},
		{name: "async: an unreachable replica does not block promotion", in: failoverInput(async,
			testMember(async, 1, noPod), testMember(async, 2, up(RoleReplica), unreachable), testMember(async, 3, up(RoleReplica), at(5))),
			kind: actPromote, member: "demo-3"},
		{name: "sync: a replica that was ready must answer before promotion", in: failoverInput(sync,
			testMember(sync, 1, noPod), testMember(sync, 2, up(RoleReplica), unreachable), testMember(sync, 3, up(RoleReplica), at(5))),
			kind: actWait, phase: v1alpha1.PhaseFailingOver},
		{name: "sync: a replica that never streamed does not block", in: failoverInput(
			testCluster(3, initialized("demo-1", 3), readyInStatus("demo-3"), func(p *v1alpha1.PostgresCluster) { p.Spec.Replication.Mode = v1alpha1.ReplicationSync }),
			testMember(sync, 1, noPod), testMember(sync, 2, starting(RoleReplica)), testMember(sync, 3, up(RoleReplica), at(5))),
			kind: actPromote, member: "demo-3"},
		{name: "promoted but unlabelled (operator crashed): label it, promote nothing else", in: failoverInput(promotedStatus,
			testMember(promotedStatus, 1, noPod), testMember(promotedStatus, 2, up(RoleReplica)), testMember(promotedStatus, 3, up(RolePrimary), func(m *member) { delete(m.pod.Labels, RoleLabel) })),
			kind: actLabelPrimary, member: "demo-3"},
		{name: "failover disabled: a deleted primary is waited for", in: failoverInput(disabled,
			testMember(disabled, 1, up(RolePrimary), terminating), testMember(disabled, 2, up(RoleReplica)), testMember(disabled, 3, up(RoleReplica))),
			kind: actWait, member: "demo-1"},
		{name: "failover disabled: a gone primary comes back on its volume", in: failoverInput(disabled,
			testMember(disabled, 1, noPod), testMember(disabled, 2, up(RoleReplica)), testMember(disabled, 3, up(RoleReplica))),
			kind: actRecreatePod, member: "demo-1"},
		{name: "delay not elapsed: wait and say why", in: func() planInput {
			in := failoverInput(delayed, testMember(delayed, 1, up(RolePrimary), terminating), testMember(delayed, 2, up(RoleReplica)))
			in.lostSince["demo-1"] = now.Add(-10 * time.Second)
			return in
		}(), kind: actWait, member: "demo-1", phase: v1alpha1.PhaseFailingOver},
		{name: "delay elapsed: fence", in: func() planInput {
			in := failoverInput(delayed, testMember(delayed, 1, up(RolePrimary), terminating), testMember(delayed, 2, up(RoleReplica)))
			in.lostSince["demo-1"] = now.Add(-31 * time.Second)
			return in
		}(), kind: actFence, member: "demo-1"},
		{name: "unreachable primary within grace: not yet", in: func() planInput {
			in := failoverInput(async, testMember(async, 1, up(RolePrimary), unreachable), testMember(async, 2, up(RoleReplica)), testMember(async, 3, up(RoleReplica)))
			in.unreachableSince["demo-1"] = now.Add(-2 * time.Second)
			return in
		}(), kind: actWait, member: "demo-1"},
		{name: "unreachable primary past grace: fence", in: func() planInput {
			in := failoverInput(async, testMember(async, 1, up(RolePrimary), unreachable), testMember(async, 2, up(RoleReplica)), testMember(async, 3, up(RoleReplica)))
			in.unreachableSince["demo-1"] = now.Add(-6 * time.Second)
			return in
		}(), kind: actFence, member: "demo-1"},
		{name: "exited primary container: fenced", in: failoverInput(async,
			testMember(async, 1, up(RolePrimary), exited), testMember(async, 2, up(RoleReplica)), testMember(async, 3, up(RoleReplica))),
			kind: actFence, member: "demo-1"},
		{name: "exited primary without failover: its pod is replaced", in: failoverInput(disabled,
			testMember(disabled, 1, up(RolePrimary), exited), testMember(disabled, 2, up(RoleReplica))),
			kind: actDeletePod, member: "demo-1"},
		{name: "exited replica: its pod is replaced", in: failoverInput(async,
			testMember(async, 1, up(RolePrimary)), testMember(async, 2, up(RoleReplica), exited), testMember(async, 3, up(RoleReplica))),
			kind: actDeletePod, member: "demo-2"},
		{name: "a replica failing again waits out its back-off", in: func() planInput {
			in := failoverInput(async, testMember(async, 1, up(RolePrimary)), testMember(async, 2, up(RoleReplica), exited), testMember(async, 3, up(RoleReplica)))
			in.restarts = map[string]int{"demo-2": 3} // 4 s back-off, failed 2 s ago
			return in
		}(), kind: actWait, member: "demo-2"},
		{name: "a replica that cannot stream for a minute, its slot lost, is re-cloned", in: func() planInput {
			in := failoverInput(async, testMember(async, 1, up(RolePrimary)), testMember(async, 2, up(RoleReplica), func(m *member) { m.db.ReceiverStatus = "" }), testMember(async, 3, up(RoleReplica)))
			in.notStreamingSince = map[string]time.Time{"demo-2": now.Add(-61 * time.Second)}
			in.obs.members[0].db.SlotWALStatus = map[string]string{"demo_2": "lost"}
			return in
		}(), kind: actRemoveMember, member: "demo-2"},
		{name: "every pod gone: the last primary restarts first on its volume", in: failoverInput(async,
			testMember(async, 1, noPod), testMember(async, 2, noPod), testMember(async, 3, noPod)),
			kind: actRecreatePod, member: "demo-1"},
		{name: "last primary's volume gone with replicas down: their pods come back to be compared", in: failoverInput(async,
			testMember(async, 2, noPod), testMember(async, 3, noPod)),
			kind: actRecreatePod, member: "demo-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			if tt.member != "" {
				assert.Equal(t, tt.member, got.member, "reason: %s", got.reason)
			}
			if tt.phase != "" {
				assert.Equal(t, tt.phase, got.phase)
			}
			if got.kind == actRecreatePod && got.member == "demo-1" {
				assert.Equal(t, RolePrimary, got.role)
			}
		})
	}
}

// A member restoring from backups answers no one until its replay is done:
// its silence is not a lost primary.
func TestRestoringPrimaryIsNotLostForSilence(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	m := testMember(pgc, 1, up(RolePrimary))
	m.db, m.dbErr = nil, &postgres.Error{Op: "probe", Unreachable: true, Err: errors.New("connection refused")}
	now := time.Now()
	lost, _ := primaryLost(m, now, now.Add(-time.Minute))
	assert.True(t, lost, "an ordinary primary silent for a minute is lost")
	m.pod.Annotations[BootstrapAnnotation] = BootstrapRecovery
	lost, why := primaryLost(m, now, now.Add(-time.Minute))
	assert.False(t, lost, why)
}
