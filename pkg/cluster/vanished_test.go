package cluster

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

// stubDial answers for the vanished primary's address and records the
// addresses dialled.
type stubDial struct {
	answers bool
	dialled []string
}

func (s *stubDial) dial(_ context.Context, addr string) bool {
	s.dialled = append(s.dialled, addr)
	return s.answers
}

func TestObserveVanished(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	lastSeen := func(opts ...memberOpt) *corev1.Pod {
		return testMember(pgc, 1, append([]memberOpt{up(RolePrimary), func(m *member) { m.pod.Status.PodIP = "10.0.0.9" }}, opts...)...).pod
	}
	gracefullyDeleted := func(m *member) {
		terminating(m)
		m.pod.DeletionGracePeriodSeconds = ptr.To[int64](30)
	}
	replica := testMember(pgc, 2, up(RoleReplica))
	tests := []struct {
		name     string
		last     *corev1.Pod
		members  []*member
		answers  bool
		checked  bool // a check is in the observation
		answered bool
		forget   bool // the actor stops watching the address
	}{
		{"nothing seen", nil, []*member{replica}, false, false, false, true},
		{"still listed: fencing handles it", lastSeen(), []*member{testMember(pgc, 1, up(RolePrimary)), replica}, false, false, false, false},
		{"a graceful deletion is confirmed by the kubelet", lastSeen(gracefullyDeleted), []*member{replica}, true, false, false, true},
		{"a failed pod has stopped", lastSeen(exited), []*member{replica}, true, false, false, true},
		{"its address went to another pod of the cluster", lastSeen(), []*member{testMember(pgc, 2, up(RoleReplica),
			func(m *member) { m.pod.Status.PodIP = "10.0.0.9" })}, true, false, false, true},
		{"force-deleted and still answering: checked again later", lastSeen(), []*member{replica}, true, true, true, false},
		{"force-deleted and dead", lastSeen(), []*member{replica}, false, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &stubDial{answers: tt.answers}
			c := &Cluster{cfg: &Config{Clock: testingclock.NewFakeClock(now), Kube: kubefake.NewSimpleClientset()}, lastPrimaryPod: tt.last}
			c.safety.dial = d.dial
			obs := obsOf(pgc, tt.members...)
			c.observeVanished(context.Background(), obs)
			require.Equal(t, tt.checked, obs.safety.vanished != nil)
			if tt.checked {
				assert.Equal(t, []string{"10.0.0.9:5432"}, d.dialled)
				assert.Equal(t, tt.answered, obs.safety.vanished.answered)
				assert.Equal(t, now, obs.safety.vanished.at)
			} else {
				assert.Empty(t, d.dialled)
			}
			assert.Equal(t, tt.forget, c.lastPrimaryPod == nil)
		})
	}
}

func TestPlanVanished(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	in := failoverInput(pgc, testMember(pgc, 1, noPod), testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(200)))
	in.obs.safety.vanished = &vanishedCheck{member: "demo-1", addr: "10.0.0.9:5432", answered: true, at: now.Add(-100e6)}
	got := plan(in)
	assert.Equal(t, actWait, got.kind)
	assert.Equal(t, v1alpha1.PhaseFailingOver, got.phase)
	assert.Equal(t, "the old primary demo-1's pod was force-deleted and its address 10.0.0.9:5432 still answered 100ms ago: "+
		"not promoting until it is dead and the replicas' positions are read again", got.reason)

	in.obs.safety.vanished.answered = false // dead, and this pass's positions were read after
	got = plan(in)
	assert.Equal(t, actPromote, got.kind)
	assert.Equal(t, "demo-3", got.member)

	in.obs.safety.vanished.answered, in.obs.safety.vanished.unlabelled = true, true // its label removed by hand
	got = plan(in)
	assert.Equal(t, actRestoreLabel, got.kind)
	assert.Equal(t, "demo-1", got.member)
}

// A primary's pod whose cluster label a user removed (kubectl label pod
// demo-1 postgres-operator.dev/cluster-) leaves the cache, which holds
// labelled pods only, but it still runs and serves. Nothing is promoted
// beside it: the label is put back, with a Warning Event, and -rw routes
// to it again.
func TestPrimaryUnlabelledByHandGetsItsLabelBack(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)))
	w.c.safety.dial = (&stubDial{answers: true}).dial
	w.settle()
	rec := recordEvents(w)
	pods := w.kube.CoreV1().Pods("ns")
	pod, err := pods.Get(w.ctx, "demo-1", metav1.GetOptions{})
	require.NoError(t, err)
	delete(pod.Labels, ClusterLabel)
	_, err = pods.Update(w.ctx, pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	w.waitPod("demo-1", func(p *corev1.Pod) bool { return p != nil && p.Labels[ClusterLabel] == "" })

	w.pass()
	pod, err = pods.Get(w.ctx, "demo-1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "demo", pod.Labels[ClusterLabel], "the label is back")
	assert.Equal(t, RolePrimary, pod.Labels[RoleLabel])
	assert.Empty(t, w.db.CallsTo("Promote"), "no failover beside a primary that still serves")
	assert.Equal(t, 1, warnings(rec, string(actRestoreLabel)))

	w.waitPod("demo-1", func(p *corev1.Pod) bool { return p != nil && p.Labels[ClusterLabel] == "demo" })
	w.settle()
	assert.Empty(t, w.db.CallsTo("Promote"))
	assert.Equal(t, "demo-1", w.current().Status.Primary)
}

// TestForceDeletedPrimarySequence: the primary's pod vanishes from the API
// at once (kubectl delete --force --grace-period=0). While its address
// answers nothing is promoted; the pass that finds it dead reads the
// replicas' positions after that and promotes the one with the most WAL.
func TestForceDeletedPrimarySequence(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), primaryAt(300)),
		testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(200)))
	d := &stubDial{answers: true}
	w.c.safety.dial = d.dial
	w.pass() // sees the primary

	w.kubeletRemoves("demo-1") // gone from the API without a graceful deletion
	w.log.reset()
	w.pass()
	assert.Equal(t, []string{"10.0.0.1:5432"}, d.dialled)
	assert.Empty(t, w.db.CallsTo("Promote"))
	assert.Equal(t, v1alpha1.PhaseFailingOver, w.current().Status.Phase)

	// Its last WAL reached demo-2 while it shut down.
	w.db.Update(memberIP(2), func(s *dbfake.Server) { s.Status.ReceivedLSN, s.Status.ReplayedLSN = 300, 300 })
	d.answers = false
	w.log.reset()
	w.pass()
	assert.Equal(t, promotion("demo-2", "", "demo-3", "demo-1", "demo-3"), w.log.writes())

	w.log.reset()
	w.pass()
	assert.Len(t, d.dialled, 2, "a dead address is not checked again")
}
