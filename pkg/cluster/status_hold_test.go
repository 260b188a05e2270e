package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

// A new actor (a new leader's) whose first probe of a ready replica fails
// keeps the replica's Ready in status through the unreachable grace, so a
// probe timeout on a loaded node writes nothing; once the grace is over
// the status says it.
func TestNewActorHoldsStatusThroughTheUnreachableGrace(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), onTimeline(1))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)))
	w.settle()
	require.Equal(t, []string{"demo-1", "demo-2"}, w.current().Status.Members.Ready)
	w.c.heard = map[string]bool{} // as a new leader's actor

	w.db.Update(memberIP(2), func(s *dbfake.Server) { s.Down = true })
	w.log.reset()
	w.pass()
	w.pass()
	assert.Empty(t, w.statusWrites(), "within the grace")
	assert.Equal(t, []string{"demo-1", "demo-2"}, w.current().Status.Members.Ready)

	w.c.unreachableSince["demo-2"] = time.Now().Add(-unreachableGrace)
	w.pass()
	require.Len(t, w.statusWrites(), 1, "the grace is over")
	assert.Equal(t, []string{"demo-2"}, w.current().Status.Members.Unready)

	// Already reported: a member unready in status is not held again.
	w.c.unreachableSince["demo-2"] = time.Now()
	w.log.reset()
	w.db.Update(memberIP(2), func(s *dbfake.Server) { s.Down = false })
	w.pass()
	assert.Len(t, w.statusWrites(), 1, "back: reported at once")
	assert.Equal(t, []string{"demo-1", "demo-2"}, w.current().Status.Members.Ready)
}

// A member that has answered this actor is reported at once when its
// probe fails: the status write wakes the actor for the passes a
// failover's clocks count on.
func TestOldActorReportsAFailedProbeAtOnce(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), onTimeline(1))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)))
	w.settle()
	require.True(t, w.c.heard["demo-2"])

	w.db.Update(memberIP(2), func(s *dbfake.Server) { s.Down = true })
	w.log.reset()
	w.pass()
	require.Len(t, w.statusWrites(), 1)
	assert.Equal(t, []string{"demo-2"}, w.current().Status.Members.Unready)
}

// A member scaled away is forgotten: created again later, it is new to
// the actor and held like any member it has never heard from.
func TestScaledAwayMemberIsForgotten(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 2), onTimeline(1))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)))
	w.c.heard["demo-2"] = true
	w.pass() // removes demo-2
	w.kubeletRemoves("demo-2")
	w.waitClaimGone("demo-2") // the pass deleted it too: a member with a claim is still observed
	w.pass()                  // no longer observes it
	assert.Equal(t, map[string]bool{"demo-1": true}, w.c.heard)
}
