package cluster

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// containerStarted: the postgres container has run since started.
func containerStarted(started time.Time) memberOpt {
	return func(m *member) {
		m.pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		m.pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}}}
	}
}

// answering: the member's PostgreSQL fails every probe with err.
func answering(err error) memberOpt {
	return func(m *member) {
		m.db = nil
		m.dbErr = &postgres.Error{Op: "probe", Addr: "10.0.0.1:5432", Unreachable: true, Err: err}
	}
}

var (
	nothingListens = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	startingUpErr  = &pq.Error{Code: "57P03", Message: "the database system is starting up"}
	noAnswer       = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ETIMEDOUT}
)

// A primary's new container on its way up (a saturated node, a long crash
// recovery) is not lost for being silent longer than unreachableGrace.
func TestStartingPrimaryIsNotLostForSilence(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	silentSince := now.Add(-20 * time.Second)
	for name, tc := range map[string]struct {
		started time.Time
		err     error
		lost    bool
	}{
		"nothing listens 20 s after the start":  {now.Add(-20 * time.Second), nothingListens, false},
		"starting up 30 s after the start":      {now.Add(-30 * time.Second), startingUpErr, false},
		"nothing listens 2 min after the start": {now.Add(-2 * time.Minute), nothingListens, true},
		"no answer at all 20 s after the start": {now.Add(-20 * time.Second), noAnswer, true},
	} {
		m := testMember(pgc, 1, up(RolePrimary), containerStarted(tc.started), answering(tc.err))
		lost, why := primaryLost(m, now, silentSince)
		assert.Equal(t, tc.lost, lost, "%s: %s", name, why)
	}
}

// A primary still in its crash recovery after primaryStartupGrace is
// failed over when a standby can take over, and left to finish when none
// can: fencing it would only start its recovery over (a size-1 cluster
// restarted its primary every 15 s on a saturated node).
func TestRecoveringPrimaryWithoutStandbyIsLeftToFinish(t *testing.T) {
	started := now.Add(-5 * time.Minute)
	one := testCluster(1, initialized("demo-1", 1))
	in := failoverInput(one, testMember(one, 1, up(RolePrimary), containerStarted(started), answering(startingUpErr)))
	in.unreachableSince["demo-1"] = now.Add(-time.Minute)
	got, ok := planFailover(in)
	assert.True(t, ok)
	assert.Equal(t, actWait, got.kind, got.reason)
	assert.Contains(t, got.reason, "still recovering")

	three := testCluster(3, initialized("demo-1", 3))
	in = failoverInput(three, testMember(three, 1, up(RolePrimary), containerStarted(started), answering(startingUpErr)),
		testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica)))
	in.unreachableSince["demo-1"] = now.Add(-time.Minute)
	got, ok = planFailover(in)
	assert.True(t, ok)
	assert.Equal(t, actFence, got.kind, got.reason)

}

// A primary that does not answer, with no standby to promote, is given
// noStandbyGrace before it is restarted: fencing it cannot fail over, and
// on a saturated node its silence was load (twenty clusters initialising
// at once on two cores: primaries fenced after 6–40 s of silence). A hung
// one is still restarted, later; a death the kubelet confirms is not held.
func TestSilentPrimaryWithoutStandbyWaitsBeforeRestart(t *testing.T) {
	started := now.Add(-5 * time.Minute)
	one := testCluster(1, initialized("demo-1", 1))
	silentFor := func(d time.Duration, opts ...memberOpt) action {
		in := failoverInput(one, testMember(one, 1, append([]memberOpt{up(RolePrimary), containerStarted(started), answering(noAnswer)}, opts...)...))
		in.unreachableSince["demo-1"] = now.Add(-d)
		got, ok := planFailover(in)
		require.True(t, ok)
		return got
	}
	got := silentFor(time.Minute)
	assert.Equal(t, actWait, got.kind, got.reason)
	assert.Contains(t, got.reason, "has not answered for 1m0s")
	assert.Contains(t, got.reason, "no replica to fail over to")

	assert.Equal(t, actFence, silentFor(noStandbyGrace).kind, "a hung primary is still restarted")
	assert.Equal(t, actFence, silentFor(time.Minute, terminating).kind, "a confirmed death is not held")

	three := testCluster(3, initialized("demo-1", 3))
	in := failoverInput(three, testMember(three, 1, up(RolePrimary), containerStarted(started), answering(noAnswer)),
		testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica)))
	in.unreachableSince["demo-1"] = now.Add(-10 * time.Second)
	got, _ = planFailover(in)
	assert.Equal(t, actFence, got.kind, "with a standby to promote, silence fails over as before: %s", got.reason)
}
