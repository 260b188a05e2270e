package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// The unreachable clock of a member counts from the earliest evidence of
// its silence: the start of the failed probe, or of the heartbeat's first
// failing beat, not the end of the pass that saw it.
func TestUnreachableCountsFromTheSilencesStart(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	c, _, clk := heartbeatActor(pgc)
	lost := func(probedAt time.Time) *observation {
		obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary), unreachable),
			testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica)))
		obs.probedAt = probedAt
		return obs
	}

	probeStart := clk.Now()
	clk.Step(probeTimeout) // the probe of a silent server runs its whole timeout
	c.trackHealth(clk.Now(), lost(probeStart))
	assert.Equal(t, probeStart, c.unreachableSince["demo-1"], "from the probe's start")

	c2, _, clk2 := heartbeatActor(pgc)
	beatStart := clk2.Now()
	clk2.Step(heartbeatTimeout)
	c2.beatReporter("demo-1")(postgres.Beat{Reached: true})
	c2.beatReporter("demo-1")(postgres.Beat{Err: assert.AnError, Took: heartbeatTimeout})
	probeStart = clk2.Now()
	clk2.Step(probeTimeout)
	c2.trackHealth(clk2.Now(), lost(probeStart))
	assert.Equal(t, beatStart, c2.unreachableSince["demo-1"], "from the start of the first failing beat, earlier than the probe")

	clk2.Step(time.Second)
	c2.trackHealth(clk2.Now(), lost(clk2.Now()))
	assert.Equal(t, beatStart, c2.unreachableSince["demo-1"], "later passes do not move the clock")

	answeredObs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary)),
		testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica)))
	c2.trackHealth(clk2.Now(), answeredObs)
	assert.NotContains(t, c2.unreachableSince, "demo-1", "an answer stops the clock")

	c2.stopHeartbeat()
	c2.trackHealth(clk2.Now(), lost(clk2.Now()))
	assert.Equal(t, clk2.Now(), c2.unreachableSince["demo-1"], "a closed heartbeat's failures are not evidence")
}
