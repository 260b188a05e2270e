package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// The chaos suite's case: demo-2 streamed on timeline 2 and received the
// most WAL; when the primary died its receiver stopped and its report fell
// back to the last restartpoint's timeline 1. The actor's memory of the
// pod keeps it on timeline 2, so it is promoted, not passed over.
func TestTimelineRememberedWhileTheReceiverIsGone(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3), withSystemID("7000000000000000001"), onTimeline(2))
	c := &Cluster{}
	streaming := func(m *member) { m.db.ReceiverTimeline = 2; m.pod.UID = types.UID("pod-2") }
	before := identityInput(pgc, testMember(pgc, 1, up(RolePrimary), sysid(ourID), timeline(2)),
		testMember(pgc, 2, up(RoleReplica), sysid(ourID), timeline(1), at(800), streaming),
		testMember(pgc, 3, up(RoleReplica), sysid(ourID), timeline(2), at(100)))
	c.rememberTimelines(before.obs)

	receiverGone := func(m *member) { m.pod.UID = types.UID("pod-2") }
	after := identityInput(pgc, testMember(pgc, 1, noPod),
		testMember(pgc, 2, up(RoleReplica), sysid(ourID), timeline(1), at(900), receiverGone),
		testMember(pgc, 3, up(RoleReplica), sysid(ourID), timeline(2), at(100)))
	c.rememberTimelines(after.obs)
	got := plan(after)
	assert.Equal(t, actPromote, got.kind, got.reason)
	assert.Equal(t, "demo-2", got.member, got.reason)

	// A new pod of demo-2 is remembered afresh: its reports alone decide.
	newPod := func(m *member) { m.pod.UID = types.UID("pod-2b") }
	fresh := identityInput(pgc, testMember(pgc, 1, noPod),
		testMember(pgc, 2, up(RoleReplica), sysid(ourID), timeline(1), at(900), newPod),
		testMember(pgc, 3, up(RoleReplica), sysid(ourID), timeline(2), at(100)))
	c.rememberTimelines(fresh.obs)
	got = plan(fresh)
	assert.Equal(t, "demo-3", got.member, got.reason)
	assert.Contains(t, got.reason, "not demo-2: it is on timeline 1, behind the cluster's 2")
	assert.Equal(t, v1alpha1.PhaseFailingOver, phaseOf(fresh.cluster, fresh.obs, got))
}
