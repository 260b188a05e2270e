package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

func TestWithNoticesAnnouncesOnce(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), withSystemID("7000000000000000001"))
	rec := record.NewFakeRecorder(10)
	clock := testingclock.NewFakeClock(now)
	c := &Cluster{cfg: &Config{Recorder: rec, Clock: clock}}
	foreign := identityInput(pgc, testMember(pgc, 1, up(RolePrimary), sysid(ourID)), testMember(pgc, 2, up(RoleReplica), sysid(otherID)))
	fine := identityInput(pgc, testMember(pgc, 1, up(RolePrimary), sysid(ourID)), testMember(pgc, 2, up(RoleReplica), sysid(ourID)))
	ctx := context.Background()

	act := c.withNotices(ctx, pgc, foreign, action{kind: actNone})
	require.Len(t, act.notices, 1)
	c.withNotices(ctx, pgc, foreign, action{kind: actNone})
	assert.Equal(t, 1, warnings(rec, reasonSystemIdentifierMismatch), "one Event while it lasts")

	assert.Empty(t, c.withNotices(ctx, pgc, fine, action{kind: actNone}).notices)
	c.withNotices(ctx, pgc, foreign, action{kind: actNone})
	assert.Equal(t, 1, warnings(rec, reasonSystemIdentifierMismatch), "announced again when it comes back")
}

func TestSetSafetyConditions(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	st := v1alpha1.PostgresClusterStatus{Conditions: []metav1.Condition{
		{Type: v1alpha1.ConditionDegraded, Status: metav1.ConditionTrue, Reason: "MembersNotReady"},
		{Type: v1alpha1.ConditionPrimaryAvailable, Status: metav1.ConditionFalse, Reason: "NoPrimary"},
	}}
	act := action{notices: []notice{
		{condition: v1alpha1.ConditionDegraded, status: metav1.ConditionTrue, reason: reasonSystemIdentifierMismatch, message: "first"},
		{condition: v1alpha1.ConditionDegraded, status: metav1.ConditionTrue, reason: reasonReplicasCannotStream, message: "second"},
		{condition: v1alpha1.ConditionPrimaryAvailable, status: metav1.ConditionUnknown, reason: reasonUnreachableFromOperator, message: "third"},
	}}
	setSafetyConditions(&st, pgc, obsOf(pgc), act)
	degraded := findCondition(st.Conditions, v1alpha1.ConditionDegraded)
	assert.Equal(t, reasonSystemIdentifierMismatch, degraded.Reason, "the first notice of a type wins")
	assert.Equal(t, "first", degraded.Message)
	available := findCondition(st.Conditions, v1alpha1.ConditionPrimaryAvailable)
	assert.Equal(t, metav1.ConditionUnknown, available.Status)
	assert.Equal(t, reasonUnreachableFromOperator, available.Reason)
}

// TestVouchedPrimaryActor: the operator cannot reach the primary, a
// replica still hears from it. No fence, no deletion; PrimaryAvailable is
// Unknown with the reason, and one Warning Event over many passes.
func TestVouchedPrimaryActor(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), onTimeline(1), readyInStatus("demo-1", "demo-2"))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), unreachable),
		testMember(pgc, 2, up(RoleReplica), heard(400*time.Millisecond)))
	rec := recordEvents(w)
	w.pass()
	w.c.unreachableSince["demo-1"] = time.Now().Add(-10 * time.Second)
	w.log.reset()
	for range 3 {
		w.pass()
	}
	for _, step := range w.log.writes() {
		assert.Equal(t, statusWrite, step, "nothing but status: no fence")
	}
	st := w.current().Status
	cond := findCondition(st.Conditions, v1alpha1.ConditionPrimaryAvailable)
	require.NotNil(t, cond)
	assert.Equal(t, metav1.ConditionUnknown, cond.Status)
	assert.Equal(t, reasonUnreachableFromOperator, cond.Reason)
	assert.Equal(t, 1, warnings(rec, reasonUnreachableFromOperator))
	assert.Equal(t, v1alpha1.PhaseRunning, st.Phase)

	// The replica stops hearing from it: the failover goes ahead.
	w.db.Update(memberIP(2), func(s *dbfake.Server) { s.Status.ReceiverMessageAge = time.Minute })
	w.log.reset()
	w.pass()
	assert.Contains(t, w.log.writes(), "patch pods demo-1", "fenced")
}
