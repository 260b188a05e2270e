package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

const testImage = "postgres:15"

func testCluster(size int32, mutate ...func(*v1alpha1.PostgresCluster)) *v1alpha1.PostgresCluster {
	pgc := &v1alpha1.PostgresCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ns", UID: "uid-demo", Generation: 1},
		Spec: v1alpha1.PostgresClusterSpec{
			Size: size, PostgresVersion: 15,
			Storage: v1alpha1.StorageSpec{Size: resource.MustParse("1Gi")},
		},
	}
	for _, m := range mutate {
		m(pgc)
	}
	return pgc
}

func initialized(primary string, lastOrdinal int32) func(*v1alpha1.PostgresCluster) {
	return func(p *v1alpha1.PostgresCluster) {
		p.Status.Initialized, p.Status.Primary, p.Status.LastOrdinal = true, primary, lastOrdinal
	}
}

// fixture members -------------------------------------------------------

type memberOpt func(*member)

func testMember(pgc *v1alpha1.PostgresCluster, ord int32, opts ...memberOpt) *member {
	name := MemberName(pgc.Name, ord)
	m := &member{name: name, ordinal: ord}
	m.pvc = buildPVC(pgc, name)
	m.pod = buildPod(pgc, memberPod{Name: name, Role: RoleReplica, Bootstrap: BootstrapClone, Image: testImage})
	m.pod.UID = types.UID("uid-" + name)
	m.pod.Annotations[CertificatesAnnotation] = testCertificatesVersion(pgc) // tls_fixture_test.go
	for _, o := range opts {
		o(m)
	}
	return m
}

// up makes the member a running, ready pod whose PostgreSQL answers in role.
func up(role string) memberOpt {
	return func(m *member) {
		m.pod.Labels[RoleLabel] = role
		m.pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		st := postgres.Status{InRecovery: role != RolePrimary, Timeline: 1}
		if role != RolePrimary {
			st.ReceiverStatus = "streaming"
		}
		m.db = &st
	}
}

func starting(role string) memberOpt {
	return func(m *member) {
		m.pod.Labels[RoleLabel] = role
		m.pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	}
}

func noPod(m *member)    { m.pod = nil }
func noVolume(m *member) { m.pvc = nil }
func terminating(m *member) {
	now := metav1.Now()
	m.pod.DeletionTimestamp = &now
}
func pendingRestart(m *member) { m.db.PendingRestart = []string{"max_connections"} }

func obsOf(pgc *v1alpha1.PostgresCluster, ms ...*member) *observation {
	return &observation{
		members: ms,
		secrets: map[string]*corev1.Secret{
			SuperuserSecretName(pgc.Name):   buildSuperuserSecret(pgc, "pw"),
			ReplicationSecretName(pgc.Name): buildReplicationSecret(pgc, "pw"),
		},
		services: map[string]*corev1.Service{
			RWServiceName(pgc.Name): buildServices(pgc)[0],
			ROServiceName(pgc.Name): buildServices(pgc)[1],
		},
		creds: recordedCreds("pw"), // plan_secrets_test.go
		drain: drainObs{pdbs: pdbsOf(pgc), cordoned: map[string]bool{}},
	}
}

func input(pgc *v1alpha1.PostgresCluster, obs *observation) planInput {
	return planInput{cluster: pgc, obs: obs, image: testImage, replicationDone: true}
}

func TestPlan(t *testing.T) {
	fresh := testCluster(1)
	three := testCluster(3, initialized("demo-1", 3))
	one := testCluster(1, initialized("demo-1", 1))
	failedOver := testCluster(1, initialized("demo-2", 2))
	paused := testCluster(3, initialized("demo-1", 1), func(p *v1alpha1.PostgresCluster) { p.Spec.Paused = true })

	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		member string
		role   string
	}{
		{name: "paused does nothing even when members are missing", in: input(paused, obsOf(paused, testMember(paused, 1, up(RolePrimary)))), kind: actNone},
		{name: "secrets first", in: input(fresh, &observation{secrets: map[string]*corev1.Secret{}, services: map[string]*corev1.Service{}}), kind: actCreateSecrets},
		{name: "services next", in: func() planInput {
			o := obsOf(fresh)
			o.services = map[string]*corev1.Service{}
			return input(fresh, o)
		}(), kind: actCreateServices},
		{name: "empty cluster creates the seed", in: input(fresh, obsOf(fresh)), kind: actCreateMember, member: "demo-1", role: RolePrimary},
		{name: "seed starting: wait, never a second seed", in: input(fresh, obsOf(fresh, testMember(fresh, 1, starting(RolePrimary)))), kind: actWait, member: "demo-1"},
		{name: "seed pod lost before initialized: recreate on its volume", in: input(fresh, obsOf(fresh, testMember(fresh, 1, noPod))), kind: actRecreatePod, member: "demo-1", role: RolePrimary},
		{name: "seed up: finish bootstrap", in: input(fresh, obsOf(fresh, testMember(fresh, 1, up(RolePrimary)))), kind: actFinishBootstrap, member: "demo-1"},
		{name: "converged", in: input(one, obsOf(one, testMember(one, 1, up(RolePrimary)))), kind: actNone},
		{name: "scale up adds the next ordinal", in: input(three, obsOf(three, testMember(three, 1, up(RolePrimary)))), kind: actCreateMember, member: "demo-4", role: RoleReplica},
		{name: "scale up waits for a healthy primary", in: input(three, obsOf(three, testMember(three, 1, starting(RolePrimary)))), kind: actWait},
		{name: "no replica is cloned from a primary whose volume is being deleted", in: input(three, obsOf(three, testMember(three, 1, up(RolePrimary), volumeDeleting))), kind: actWait},
		{name: "terminating pods do not count as members without volumes", in: input(three, obsOf(three,
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica), noVolume, terminating))),
			kind: actCreateMember, member: "demo-4"},
		{name: "scale down removes the highest replica", in: input(one, obsOf(one,
			testMember(one, 1, up(RolePrimary)), testMember(one, 2, up(RoleReplica)), testMember(one, 3, up(RoleReplica)))),
			kind: actRemoveMember, member: "demo-3"},
		{name: "scale down never removes the primary", in: input(failedOver, obsOf(failedOver,
			testMember(failedOver, 1, up(RoleReplica)), testMember(failedOver, 2, up(RolePrimary)))),
			kind: actRemoveMember, member: "demo-1"},
		{name: "a replica whose pod is gone comes back on its volume", in: input(three, obsOf(three,
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, noPod), testMember(three, 3, up(RoleReplica)))),
			kind: actRecreatePod, member: "demo-2", role: RoleReplica},
		{name: "a terminating replica pod is waited for, not recreated", in: input(three, obsOf(three,
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica), terminating), testMember(three, 3, up(RoleReplica)))),
			kind: actWait, member: "demo-2"},
		{name: "a replica whose volume is gone is replaced", in: input(three, obsOf(three,
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica), noVolume), testMember(three, 3, up(RoleReplica)))),
			kind: actDeletePod, member: "demo-2"},
		{name: "all pods gone: the last primary comes back first", in: input(three, obsOf(three,
			testMember(three, 1, noPod), testMember(three, 2, noPod), testMember(three, 3, noPod))),
			kind: actRecreatePod, member: "demo-1", role: RolePrimary},
		{name: "every volume gone after initialization: fail, never initdb", in: input(three, obsOf(three)), kind: actFail},
		{name: "pending restart rolls replicas first", in: input(three, obsOf(three,
			testMember(three, 1, up(RolePrimary), pendingRestart), testMember(three, 2, up(RoleReplica), pendingRestart), testMember(three, 3, up(RoleReplica)))),
			kind: actDeletePod, member: "demo-2"},
		{name: "the primary rolls last, by a switchover (switchover_test.go)", in: input(three, obsOf(three,
			testMember(three, 1, up(RolePrimary), pendingRestart), testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica)))),
			kind: actSwitchover, member: "demo-1"},
		{name: "no roll while a member is unready", in: input(three, obsOf(three,
			testMember(three, 1, up(RolePrimary), pendingRestart), testMember(three, 2, starting(RoleReplica)), testMember(three, 3, up(RoleReplica)))),
			kind: actWait, member: "demo-2"},
		{name: "image change rolls", in: func() planInput {
			in := input(one, obsOf(one, testMember(one, 1, up(RolePrimary))))
			in.image = "postgres:15.9"
			return in
		}(), kind: actDeletePod, member: "demo-1"},
		{name: "replication settings before parameters", in: func() planInput {
			in := input(one, obsOf(one, testMember(one, 1, up(RolePrimary))))
			in.replicationDone, in.paramsPending = false, []string{"demo-1"}
			return in
		}(), kind: actSyncReplication},
		{name: "parameters", in: func() planInput {
			in := input(one, obsOf(one, testMember(one, 1, up(RolePrimary))))
			in.paramsPending = []string{"demo-1"}
			return in
		}(), kind: actApplyParams, member: "demo-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			if tt.member != "" {
				assert.Equal(t, tt.member, got.member)
			}
			if tt.role != "" {
				assert.Equal(t, tt.role, got.role)
			}
			assert.NotEmpty(t, got.reason)
		})
	}
}

func TestPlanIgnoresOtherClustersNames(t *testing.T) {
	_, ok := ordinalOf("demo", "demo2-1")
	assert.False(t, ok)
	_, ok = ordinalOf("demo", "demo-x")
	assert.False(t, ok)
	n, ok := ordinalOf("demo", "demo-12")
	assert.True(t, ok)
	assert.Equal(t, int32(12), n)
}

// pdbsOf is the cluster's disruption budgets as observed when they exist.
func pdbsOf(pgc *v1alpha1.PostgresCluster) map[string]*policyv1.PodDisruptionBudget {
	out := map[string]*policyv1.PodDisruptionBudget{}
	for _, b := range buildPDBs(pgc) {
		out[b.Name] = b
	}
	return out
}

// volumeDeleting marks the member's claim as being deleted (kept by its
// pod's protection finalizer until the pod goes).
func volumeDeleting(m *member) {
	now := metav1.Now()
	m.pvc.DeletionTimestamp = &now
}
