//go:build integration

package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// TestDivergedReplicaNeverCountsAsStreaming builds, with real servers, the
// replica an async failover leaves behind: b replayed WAL from the old
// primary p that the promoted a never had. b's receiver then reconnects to
// a over and over and reads "streaming" for a moment each time. Fed the
// real probes of a and b, pass after pass, the actor's not-streaming clock
// for b starts once and never restarts, so the re-clone its proof allows
// comes after stuckTimeout.
func TestDivergedReplicaNeverCountsAsStreaming(t *testing.T) {
	d := newMembersDivergence(t)
	a, b := d.Primary, d.Replica
	db := postgres.New() // one client: it keeps one connection per server

	pgc := testCluster(2, initialized("demo-1", 2), readyInStatus("demo-1", "demo-2"))
	c, _, clk := heartbeatActor(pgc)
	var start time.Time
	var last *observation
	streamingLooks, looks := 0, 0
	pgtest.Eventually(t, 2*time.Minute, "b stuck for stuckTimeout, and a probe of b that reads streaming", func() (bool, error) {
		primary, replica := realProbe(t, db, a), realProbe(t, db, b)
		looks++
		if replica.Streaming() {
			streamingLooks++
		}
		last = obsOf(pgc, testMember(pgc, 1, up(RolePrimary), withStatus(primary)), testMember(pgc, 2, up(RoleReplica), withStatus(replica)))
		clk.Step(time.Second)
		c.trackHealth(clk.Now(), last)
		if start.IsZero() {
			start = c.notStreamingSince["demo-2"]
			require.False(t, start.IsZero(), "the first pass starts b's clock (receiver %q)", replica.ReceiverStatus)
		}
		require.Equal(t, start, c.notStreamingSince["demo-2"], "b's clock restarted on a probe whose receiver read %q", replica.ReceiverStatus)
		if streamingLooks == 0 || clk.Since(start) < stuckTimeout {
			return false, fmt.Errorf("%d of b's %d probes read streaming, stuck for %s", streamingLooks, looks, clk.Since(start))
		}
		return true, nil
	})
	t.Logf("%d of b's %d probes read streaming", streamingLooks, looks)

	in := edit(pgc, func(in *planInput) { in.now, in.notStreamingSince, in.obs = clk.Now(), c.notStreamingSince, last })
	act, ok := planStuckReplicas(in)
	require.True(t, ok, "b is re-cloned")
	assert.Equal(t, "demo-2", act.member)
	assert.Contains(t, act.reason, "its history diverged from the primary's")
}

// newMembersDivergence builds the diverged replica with the members'
// wal_retrieve_retry_interval.
func newMembersDivergence(t *testing.T) *pgtest.Divergence {
	return pgtest.NewDivergence(t, desiredParameters(testCluster(2))["wal_retrieve_retry_interval"])
}

func withStatus(st postgres.Status) memberOpt { return func(m *member) { m.db = &st } }

func realProbe(t *testing.T, db postgres.Client, s *pgtest.Server) postgres.Status {
	t.Helper()
	st, err := db.Probe(context.Background(), s.Endpoint())
	require.NoError(t, err)
	return st
}
