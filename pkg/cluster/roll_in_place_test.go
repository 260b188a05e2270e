package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func pendingDecrease(m *member) {
	m.db.PendingRestart = []string{"max_connections"}
	m.db.PendingDecrease = []string{"max_connections"}
}

// Lowering max_connections restarts the primary first, in place; raising
// it (or any other setting) restarts the replicas first, as before.
func TestRollLowersStandbyCheckedSettingOnThePrimaryFirst(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3))
	t.Run("lowered: the primary first, without a promotion", func(t *testing.T) {
		got := plan(input(three, obsOf(three, testMember(three, 1, up(RolePrimary), pendingDecrease),
			testMember(three, 2, up(RoleReplica), pendingDecrease), testMember(three, 3, up(RoleReplica), pendingDecrease))))
		assert.Equal(t, actSwitchover, got.kind)
		assert.Equal(t, "demo-1", got.member)
		assert.Equal(t, "demo-1", got.target, "the target is the primary itself: no replica is promoted")
		assert.Contains(t, got.reason, "to lower max_connections")
	})
	t.Run("raised: the replicas first", func(t *testing.T) {
		got := plan(input(three, obsOf(three, testMember(three, 1, up(RolePrimary), pendingRestart),
			testMember(three, 2, up(RoleReplica), pendingRestart), testMember(three, 3, up(RoleReplica), pendingRestart))))
		assert.Equal(t, actDeletePod, got.kind)
		assert.Equal(t, "demo-3", got.member)
	})
	t.Run("the primary lowered already: the replicas follow", func(t *testing.T) {
		got := plan(input(three, obsOf(three, testMember(three, 1, up(RolePrimary)),
			testMember(three, 2, up(RoleReplica), pendingDecrease), testMember(three, 3, up(RoleReplica), pendingDecrease))))
		assert.Equal(t, actDeletePod, got.kind)
		assert.Equal(t, "demo-3", got.member)
	})
	t.Run("without failover the primary's pod is deleted, as for one member", func(t *testing.T) {
		off := testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.Disabled = true })
		got := plan(input(off, obsOf(off, testMember(off, 1, up(RolePrimary), pendingDecrease),
			testMember(off, 2, up(RoleReplica)), testMember(off, 3, up(RoleReplica)))))
		assert.Equal(t, actDeletePod, got.kind)
		assert.Equal(t, "demo-1", got.member)
	})
}

// Once the stopped primary's pod is gone it comes back on its volume and no
// replica is promoted; without its volume, or without the marker, the
// cluster fails over.
func TestRestartInPlaceBringsThePrimaryBack(t *testing.T) {
	marked := testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) { p.Status.SwitchoverTarget = "demo-1" })
	got := plan(input(marked, obsOf(marked, testMember(marked, 1, noPod),
		testMember(marked, 2, up(RoleReplica)), testMember(marked, 3, up(RoleReplica)))))
	assert.Equal(t, actRecreatePod, got.kind)
	assert.Equal(t, "demo-1", got.member)
	assert.Equal(t, RolePrimary, got.role)

	stopped := func(m *member) { // fenced, its postgres exited, its pod not gone yet
		m.pod.Annotations[FencedAnnotation] = "true"
		delete(m.pod.Labels, RoleLabel)
		terminating(m)
		m.pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}}
	}
	got = plan(input(marked, obsOf(marked, testMember(marked, 1, stopped),
		testMember(marked, 2, up(RoleReplica)), testMember(marked, 3, up(RoleReplica)))))
	assert.Equal(t, actWait, got.kind, "its pod must be gone before it is made again; no replica is promoted meanwhile")
	assert.Contains(t, got.reason, "waiting until its stopped pod is gone")

	lingering := input(marked, obsOf(marked, testMember(marked, 1, stopped),
		testMember(marked, 2, up(RoleReplica)), testMember(marked, 3, up(RoleReplica))))
	lingering.now = lingering.obs.members[0].pod.DeletionTimestamp.Add(inPlaceGiveUp + time.Second)
	got = plan(lingering)
	assert.Equal(t, actPromote, got.kind, "a stopped pod that lingers past its grace (its node gone): fail over")

	got = plan(input(marked, obsOf(marked, testMember(marked, 1, noPod, noVolume),
		testMember(marked, 2, up(RoleReplica)), testMember(marked, 3, up(RoleReplica)))))
	assert.Equal(t, actPromote, got.kind, "its volume is gone: fail over")

	plain := testCluster(3, initialized("demo-1", 3))
	got = plan(input(plain, obsOf(plain, testMember(plain, 1, noPod),
		testMember(plain, 2, up(RoleReplica)), testMember(plain, 3, up(RoleReplica)))))
	assert.Equal(t, actPromote, got.kind)
}

// A primary that did not come back from its restart in place is not
// restarted in place again for the same parameters: the cluster failed
// over, and another try would fail over again, for good.
func TestRestartInPlaceIsNotRepeatedAfterItFailed(t *testing.T) {
	three := testCluster(3, initialized("demo-2", 3))
	ms := []*member{testMember(three, 1, up(RoleReplica)), testMember(three, 2, up(RolePrimary), pendingDecrease), testMember(three, 3, up(RoleReplica))}
	c := &Cluster{inPlace: inPlaceAttempt{member: "demo-1", params: paramsFingerprint(three)}}
	in := input(three, obsOf(three, ms...))
	in.inPlaceFailed = c.trackInPlace(three, in.obs)
	assert.Equal(t, "demo-1", in.inPlaceFailed, "demo-1 was restarted in place and demo-2 is the primary now")
	got := plan(in)
	assert.Equal(t, actWait, got.kind)
	assert.Contains(t, got.reason, "demo-1 did not come back from its restart in place")

	changed := testCluster(3, initialized("demo-2", 3), func(p *v1alpha1.PostgresCluster) {
		p.Spec.Parameters = map[string]string{"max_connections": "80"}
	})
	assert.Empty(t, c.trackInPlace(changed, in.obs), "new parameters: tried again")

	back := &Cluster{inPlace: inPlaceAttempt{member: "demo-2", params: paramsFingerprint(three)}}
	assert.Empty(t, back.trackInPlace(three, in.obs), "it serves again")
	assert.True(t, back.inPlace.up)
}
