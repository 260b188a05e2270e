//go:build integration

package cluster

import (
	"context"
	"fmt"
	"strings"
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
	p := pgtest.NewPrimary(t, "p")
	a := p.NewStandby(t, "a")
	b := p.NewStandby(t, "b")
	db := postgres.New() // one client: it keeps one connection per server
	// The members' retry interval, and megabytes of WAL between the
	// fork's segment start and the fork: each of b's attempts streams them
	// again, long enough for probes to catch it streaming.
	b.Exec(t, `ALTER SYSTEM SET wal_retrieve_retry_interval = '`+desiredParameters(testCluster(2))["wal_retrieve_retry_interval"]+`'`)
	b.Exec(t, `SELECT pg_reload_conf()`)
	p.Exec(t, `SELECT pg_switch_wal()`)
	p.Exec(t, `CREATE TABLE t AS SELECT generate_series(1, 150000) AS i`)
	caughtUp := realProbe(t, db, p).CurrentLSN
	pgtest.Eventually(t, 30*time.Second, "a to replay the table", func() (bool, error) {
		st, err := db.Probe(context.Background(), a.Endpoint())
		return st.ReplayedLSN >= caughtUp, err
	})
	a.Stop(t)
	p.Exec(t, `INSERT INTO t VALUES (2)`) // a few bytes past the fork, in the fork's segment
	end := realProbe(t, db, p).CurrentLSN
	pgtest.Eventually(t, 30*time.Second, "b to replay everything", func() (bool, error) {
		st, err := db.Probe(context.Background(), b.Endpoint())
		return st.ReplayedLSN >= end, err
	})
	p.Stop(t)
	a.Start(t)
	require.NoError(t, db.Promote(context.Background(), a.Endpoint(), 30*time.Second))
	followUpstream(t, b, p, a)

	pgc := testCluster(2, initialized("demo-1", 2), readyInStatus("demo-1", "demo-2"))
	c, _, clk := heartbeatActor(pgc)
	var start time.Time
	var last *observation
	streamingLooks, looks := 0, 0
	pgtest.Eventually(t, time.Minute, "b stuck for stuckTimeout, with 3 probes that read streaming", func() (bool, error) {
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
		if streamingLooks < 3 || clk.Since(start) < stuckTimeout {
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

func withStatus(st postgres.Status) memberOpt { return func(m *member) { m.db = &st } }

func realProbe(t *testing.T, db postgres.Client, s *pgtest.Server) postgres.Status {
	t.Helper()
	st, err := db.Probe(context.Background(), s.Endpoint())
	require.NoError(t, err)
	return st
}

// followUpstream points standby, which streamed from old, at upstream,
// with a slot there.
func followUpstream(t *testing.T, standby, old, upstream *pgtest.Server) {
	t.Helper()
	upstream.Exec(t, `SELECT pg_create_physical_replication_slot($1, true)`, postgres.SlotName(standby.Name))
	ci := standby.Query(t, `SHOW primary_conninfo`)
	ci = strings.Replace(ci, fmt.Sprintf("port=%d", old.Port), fmt.Sprintf("port=%d", upstream.Port), 1)
	standby.Exec(t, fmt.Sprintf(`ALTER SYSTEM SET primary_conninfo = '%s'`, strings.ReplaceAll(ci, "'", "''")))
	standby.Exec(t, `SELECT pg_reload_conf()`)
}
