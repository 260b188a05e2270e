package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// The primary's node is cut off: it was fenced (unlabelled, its pod
// deleted) but the kubelet never confirms its end, so the pod stays
// terminating. The actor waits for it to fence itself, on its own clock,
// then promotes.
func TestPartitionedPrimaryIsPromotedPastOnceItsLeaseRanOut(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), fencedPod, terminating),
		testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(200)))
	clk := testingclock.NewFakeClock(now)
	w.c.cfg.Clock = clk

	w.pass()
	assert.Empty(t, w.db.CallsTo("Promote"), "no record of the old primary: its lease may run from now")
	cond := meta.FindStatusCondition(w.current().Status.Conditions, v1alpha1.ConditionPrimaryAvailable)
	require.NotNil(t, cond)
	assert.Equal(t, reasonAwaitingSelfFence, cond.Reason)
	assert.Contains(t, cond.Message, "waiting for the old primary to fence itself")
	assert.Equal(t, v1alpha1.PhaseFailingOver, w.current().Status.Phase)

	clk.Step(defaultFenceAfter + fenceMargin - time.Millisecond)
	w.pass()
	assert.Empty(t, w.db.CallsTo("Promote"), "one millisecond early")

	clk.Step(time.Millisecond)
	w.pass()
	assert.NotEmpty(t, w.db.CallsTo("Promote"))
	assert.Equal(t, "demo-3", w.current().Status.Primary, "the replica with the most WAL")
}

// A confirmed end keeps the fast path: no lease wait.
func TestConfirmedDeathIsNotWaitedFor(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), containerExited, fencedPod, terminating),
		testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(200)))
	w.c.cfg.Clock = testingclock.NewFakeClock(now)
	w.pass()
	assert.NotEmpty(t, w.db.CallsTo("Promote"))
}
