package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Cases for the plan rules that plan_test.go, failover_test.go,
// switchover_test.go and volume_grow_test.go leave out, each with the phase
// its action puts the cluster in (phaseOf): the phase is what users and the
// e2e suite watch, so it is part of each rule's contract.

// failedAgo: the pod failed (restartPolicy Never) d ago.
func failedAgo(d time.Duration) memberOpt {
	return func(m *member) {
		exited(m)
		m.pod.Status.ContainerStatuses[0].State.Terminated.FinishedAt = metav1.NewTime(now.Add(-d))
	}
}

func podSucceeded(m *member) {
	exited(m)
	m.pod.Status.Phase = "Succeeded"
}

func notStreaming(m *member) { m.db.ReceiverStatus = "" }

// inRecovery: the pod is labelled as it is, but PostgreSQL is a standby.
func inRecovery(m *member) { m.db.InRecovery = true }

// labelledReplica: the pod still carries the replica label, whatever its
// PostgreSQL answers (a promotion the operator did not get to label).
func labelledReplica(m *member) { m.pod.Labels[RoleLabel] = RoleReplica }

func withPhase(p v1alpha1.ClusterPhase) func(*v1alpha1.PostgresCluster) {
	return func(c *v1alpha1.PostgresCluster) { c.Status.Phase = p }
}

func lastOrdinal(n int32) func(*v1alpha1.PostgresCluster) {
	return func(c *v1alpha1.PostgresCluster) { c.Status.LastOrdinal = n }
}

func failoverDisabled(p *v1alpha1.PostgresCluster) { p.Spec.Failover.Disabled = true }

// edit returns the failover input of pgc and ms after fn changed it.
func edit(pgc *v1alpha1.PostgresCluster, fn func(*planInput), ms ...*member) planInput {
	in := failoverInput(pgc, ms...)
	fn(&in)
	return in
}

func TestPlanRules(t *testing.T) {
	const (
		creating   = v1alpha1.PhaseCreating
		running    = v1alpha1.PhaseRunning
		updating   = v1alpha1.PhaseUpdating
		scaling    = v1alpha1.PhaseScaling
		recovering = v1alpha1.PhaseRecovering
		failingOv  = v1alpha1.PhaseFailingOver
		failed     = v1alpha1.PhaseFailed
	)
	fresh := testCluster(1)
	three := testCluster(3, initialized("demo-1", 3), readyInStatus("demo-1", "demo-2", "demo-3"), withPhase(running))
	noFailover := testCluster(3, initialized("demo-1", 3), failoverDisabled)
	delayed := testCluster(2, initialized("demo-1", 2), func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.DelaySeconds = 30 })
	healthy := func(pgc *v1alpha1.PostgresCluster, opts ...memberOpt) []*member {
		return []*member{testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica), at(10)),
			testMember(pgc, 3, append([]memberOpt{up(RoleReplica), at(10)}, opts...)...)}
	}

	tests := []struct {
		name      string
		in        planInput
		kind      actionKind
		member    string
		role      string // for pod creation
		bootstrap string // for pod creation
		restart   bool   // a failed pod's replacement counts towards back-off
		phase     v1alpha1.ClusterPhase
	}{
		// paused
		{name: "paused wins over everything, even every volume gone", in: failoverInput(testCluster(3, initialized("demo-1", 3),
			func(p *v1alpha1.PostgresCluster) { p.Spec.Paused = true })), kind: actNone, phase: v1alpha1.PhasePaused},

		// planServices
		{name: "a missing -ro Service is created", in: edit(three, func(in *planInput) { delete(in.obs.services, ROServiceName("demo")) },
			healthy(three)...), kind: actCreateServices, phase: updating},
		{name: "a -rw Service whose selector was edited is restored", in: edit(three, func(in *planInput) {
			in.obs.services[RWServiceName("demo")] = editedService(buildServices(three)[0], func(s *corev1.Service) {
				s.Spec.Selector = map[string]string{ClusterLabel: "demo"}
			})
		}, healthy(three)...), kind: actRepairService, phase: updating},
		{name: "a -rw Service no longer publishing not-ready addresses is restored", in: edit(three, func(in *planInput) {
			in.obs.services[RWServiceName("demo")] = editedService(buildServices(three)[0], func(s *corev1.Service) {
				s.Spec.PublishNotReadyAddresses = false
			})
		}, healthy(three)...), kind: actRepairService, phase: updating},
		{name: "a Service's type, ports and annotations are the user's", in: edit(three, func(in *planInput) {
			in.obs.services[ROServiceName("demo")] = editedService(buildServices(three)[1], func(s *corev1.Service) {
				s.Spec.Type, s.Annotations = corev1.ServiceTypeNodePort, map[string]string{"team": "db"}
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "exporter", Port: 9187})
			})
		}, healthy(three)...), kind: actNone, phase: running},
		// A Service deleted by hand whose name another object took cannot
		// be made again, pass after pass: failover must not wait for it.
		{name: "failover comes before a missing Service of an initialized cluster", in: edit(three, func(in *planInput) { delete(in.obs.services, RWServiceName("demo")) },
			testMember(three, 1, up(RolePrimary), exited), testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica))),
			kind: actFence, member: "demo-1", phase: failingOv},
		{name: "before initialization the Services come before the seed", in: edit(fresh, func(in *planInput) { delete(in.obs.services, RWServiceName("demo")) }),
			kind: actCreateServices, phase: creating},
		{name: "before initialization a missing replication Secret is generated", in: edit(fresh, func(in *planInput) {
			delete(in.obs.secrets, ReplicationSecretName("demo"))
		}), kind: actCreateSecrets, phase: creating},

		// planBootstrap
		{name: "seed: a new ordinal after the one status recorded (crash before its volume was made)",
			in: failoverInput(testCluster(1, lastOrdinal(1))), kind: actCreateMember, member: "demo-2",
			role: RolePrimary, bootstrap: BootstrapInitdb, phase: creating},
		{name: "seed pod gone: recreated on its volume, still with initdb", in: failoverInput(fresh, testMember(fresh, 1, noPod)),
			kind: actRecreatePod, member: "demo-1", role: RolePrimary, bootstrap: BootstrapInitdb, phase: creating},
		{name: "seed ready but its PostgreSQL is not a primary yet: wait", in: failoverInput(fresh, testMember(fresh, 1, up(RolePrimary), inRecovery)),
			kind: actWait, member: "demo-1", phase: creating},
		{name: "seed up: finish the bootstrap", in: failoverInput(fresh, testMember(fresh, 1, up(RolePrimary))),
			kind: actFinishBootstrap, member: "demo-1", phase: creating},

		// planFailover
		{name: "delaySeconds: a primary lost this very pass is waited for", in: failoverInput(delayed,
			testMember(delayed, 1, up(RolePrimary), terminating), testMember(delayed, 2, up(RoleReplica))),
			kind: actWait, member: "demo-1", phase: failingOv},
		{name: "failover disabled: a switchover request is still honoured", in: failoverInput(
			testCluster(3, initialized("demo-1", 3), failoverDisabled, switchoverTo("demo-2")), healthy(noFailover)...),
			kind: actSwitchover, member: "demo-1", phase: failingOv},
		{name: "the old primary back as a standby is never promoted, even with the most WAL", in: failoverInput(three,
			testMember(three, 1, up(RoleReplica), at(900)), testMember(three, 2, up(RoleReplica), at(100)), testMember(three, 3, up(RoleReplica), at(50))),
			kind: actPromote, member: "demo-2", phase: failingOv},
		{name: "a promoted member still labelled replica is labelled before anything else", in: failoverInput(three,
			testMember(three, 1, noPod), testMember(three, 2, up(RoleReplica), at(900)), testMember(three, 3, up(RolePrimary), labelledReplica)),
			kind: actLabelPrimary, member: "demo-3", phase: failingOv},
		{name: "a fenced pod being deleted with PostgreSQL running blocks promotion", in: failoverInput(three,
			testMember(three, 1, up(RolePrimary), fencedPod, terminating), testMember(three, 2, up(RoleReplica), at(100)), testMember(three, 3, up(RoleReplica))),
			kind: actWait, member: "demo-1", phase: failingOv},

		// planPrimary
		{name: "every volume gone after initialization: Fail", in: failoverInput(three), kind: actFail, phase: failed},
		{name: "last primary without a pod (failover disabled): restarted on its volume", in: failoverInput(noFailover,
			testMember(noFailover, 1, noPod), testMember(noFailover, 2, up(RoleReplica)), testMember(noFailover, 3, up(RoleReplica))),
			kind: actRecreatePod, member: "demo-1", role: RolePrimary, bootstrap: BootstrapClone, restart: true, phase: recovering},
		{name: "last primary's pod back but not yet labelled or answering: wait for it", in: failoverInput(noFailover,
			testMember(noFailover, 1, starting(RoleReplica)), testMember(noFailover, 2, up(RoleReplica)), testMember(noFailover, 3, up(RoleReplica))),
			kind: actWait, member: "demo-1", phase: recovering},
		{name: "last primary's volume gone, replicas' pods there but silent: wait for their WAL positions", in: failoverInput(three,
			testMember(three, 2, starting(RoleReplica)), testMember(three, 3, starting(RoleReplica))),
			kind: actWait, phase: recovering},
		{name: "last primary's volume gone, a replica without a pod: bring it back to be compared", in: failoverInput(three,
			testMember(three, 2, noPod), testMember(three, 3, starting(RoleReplica))),
			kind: actRecreatePod, member: "demo-2", role: RoleReplica, bootstrap: BootstrapClone, phase: recovering},

		// planMissingPods and planReplaceFailed
		{name: "replica pod gone: recreated on its volume as a clone", in: failoverInput(three,
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, noPod), testMember(three, 3, up(RoleReplica))),
			kind: actRecreatePod, member: "demo-2", role: RoleReplica, bootstrap: BootstrapClone, phase: updating},
		{name: "a Succeeded replica pod is a failed one", in: failoverInput(three,
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica), podSucceeded), testMember(three, 3, up(RoleReplica))),
			kind: actDeletePod, member: "demo-2", restart: true, phase: updating},
		{name: "first failure: replaced at once", in: failoverInput(three, healthy(three, failedAgo(0))...),
			kind: actDeletePod, member: "demo-3", restart: true, phase: updating},
		{name: "back-off elapsed: replaced", in: edit(three, func(in *planInput) { in.restarts = map[string]int{"demo-3": 2} },
			healthy(three, failedAgo(3*time.Second))...), kind: actDeletePod, member: "demo-3", restart: true, phase: updating},
		{name: "back-off caps at a minute: waiting at 59 s", in: edit(three, func(in *planInput) { in.restarts = map[string]int{"demo-3": 20} },
			healthy(three, failedAgo(59*time.Second))...), kind: actWait, member: "demo-3", phase: recovering},
		{name: "back-off caps at a minute: replaced at 61 s", in: edit(three, func(in *planInput) { in.restarts = map[string]int{"demo-3": 20} },
			healthy(three, failedAgo(61*time.Second))...), kind: actDeletePod, member: "demo-3", restart: true, phase: updating},

		// planScale
		{name: "scale up never reuses an ordinal: the one after status.lastOrdinal", in: failoverInput(testCluster(3, initialized("demo-1", 5)),
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica))),
			kind: actCreateMember, member: "demo-6", role: RoleReplica, bootstrap: BootstrapClone, phase: scaling},
		{name: "scale up waits for a healthy primary", in: failoverInput(three, testMember(three, 1, up(RolePrimary), unreachable)),
			kind: actWait, phase: scaling},
		{name: "scale down removes the highest replica", in: failoverInput(testCluster(2, initialized("demo-1", 3)), healthy(three)...),
			kind: actRemoveMember, member: "demo-3", phase: scaling},

		// planStuckReplicas
		{name: "a replica not streaming for 59 s is left alone", in: edit(three, func(in *planInput) {
			in.notStreamingSince = map[string]time.Time{"demo-3": now.Add(-59 * time.Second)}
		}, healthy(three, notStreaming)...), kind: actWait, member: "demo-3", phase: recovering},
		{name: "a replica not streaming for 61 s whose slot was lost is replaced by a fresh clone", in: edit(three, func(in *planInput) {
			in.notStreamingSince = map[string]time.Time{"demo-3": now.Add(-61 * time.Second)}
			in.obs.members.byName("demo-1").db.SlotWALStatus = map[string]string{"demo_3": "lost"} // the proof (safety_stuck_replicas.go)
		}, healthy(three, notStreaming)...), kind: actRemoveMember, member: "demo-3", phase: scaling},
		{name: "replicas are not judged while the primary is unhealthy", in: edit(three, func(in *planInput) {
			in.notStreamingSince = map[string]time.Time{"demo-3": now.Add(-10 * time.Minute)}
			in.unreachableSince = map[string]time.Time{"demo-1": now}
		}, testMember(three, 1, up(RolePrimary), unreachable), testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica), notStreaming)),
			kind: actWait, member: "demo-1", phase: recovering},

		// planReplication, planVolumes, planParameters
		{name: "replication housekeeping keeps the phase", in: edit(three, func(in *planInput) { in.replicationDone = false }, healthy(three)...),
			kind: actSyncReplication, phase: running},
		{name: "volumes grow in member order, skipping grown ones", in: failoverInput(testCluster(3, initialized("demo-1", 3), grownTo("5Gi")),
			testMember(testCluster(1, grownTo("5Gi")), 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica))),
			kind: actGrowVolume, member: "demo-2", phase: updating},
		{name: "parameters go to the first pending member; the phase stays", in: edit(three, func(in *planInput) {
			in.paramsPending = []string{"demo-2", "demo-3"}
		}, healthy(three)...), kind: actApplyParams, member: "demo-2", phase: running},

		// planRoll and planWaitHealthy
		{name: "roll: the highest replica first", in: failoverInput(three,
			testMember(three, 1, up(RolePrimary), pendingRestart), testMember(three, 2, up(RoleReplica), pendingRestart), testMember(three, 3, up(RoleReplica), pendingRestart)),
			kind: actDeletePod, member: "demo-3", phase: updating},
		{name: "roll on a new image: the highest replica first", in: edit(three, func(in *planInput) { in.image = "postgres:15.9" }, healthy(three)...),
			kind: actDeletePod, member: "demo-3", phase: updating},
		{name: "no roll while a replica is not streaming", in: failoverInput(three,
			testMember(three, 1, up(RolePrimary), pendingRestart), testMember(three, 2, up(RoleReplica), notStreaming), testMember(three, 3, up(RoleReplica), pendingRestart)),
			kind: actWait, member: "demo-2", phase: recovering},
		{name: "a new member coming up is scaling", in: failoverInput(testCluster(3, initialized("demo-1", 3), readyInStatus("demo-2")),
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)), testMember(three, 3, starting(RoleReplica))),
			kind: actWait, member: "demo-3", phase: scaling},
		{name: "a known member coming back is recovering", in: failoverInput(three,
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)), testMember(three, 3, starting(RoleReplica))),
			kind: actWait, member: "demo-3", phase: recovering},
		{name: "converged", in: failoverInput(three, healthy(three)...), kind: actNone, phase: running},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			assert.Equal(t, tt.member, got.member, "reason: %s", got.reason)
			assert.Equal(t, tt.role, got.role)
			assert.Equal(t, tt.bootstrap, got.bootstrap)
			assert.Equal(t, tt.restart, got.restart)
			assert.Equal(t, tt.phase, phaseOf(tt.in.cluster, tt.in.obs, got))
			assert.NotEmpty(t, got.reason)
		})
	}
}

func TestRestartBackoff(t *testing.T) {
	for failures, want := range map[int]time.Duration{
		0: 0, 1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 100: time.Minute,
	} {
		assert.Equal(t, want, restartBackoff(failures), "%d failures", failures)
	}
}

func editedService(s *corev1.Service, fn func(*corev1.Service)) *corev1.Service {
	fn(s)
	return s
}
