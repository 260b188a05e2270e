//go:build integration

package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

func TestPromoteStandby(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)
	c, ctx := postgres.New(), context.Background()

	primary.Exec(t, `CREATE TABLE t AS SELECT 1 AS i`)
	last := probe(t, primary).CurrentLSN
	pgtest.Eventually(t, 30*time.Second, "standby caught up", func() (bool, error) {
		st, err := c.Probe(ctx, standby.Endpoint())
		return st.ReplayedLSN >= last, err
	})
	sysid := probe(t, primary).SystemIdentifier
	primary.Stop(t) // the failover case: the old primary is gone

	start := time.Now()
	require.NoError(t, c.Promote(ctx, standby.Endpoint(), 30*time.Second))
	t.Logf("floor: pg_promote(wait => true) took %v", time.Since(start))

	st := probe(t, standby)
	assert.False(t, st.InRecovery)
	assert.Equal(t, uint32(2), st.Timeline, "promotion starts a new timeline")
	assert.GreaterOrEqual(t, st.CurrentLSN, last)
	assert.Equal(t, sysid, st.SystemIdentifier)
	assert.Empty(t, st.ReceiverStatus)
	standby.Exec(t, `INSERT INTO t VALUES (2)`) // accepts writes now
	assert.Equal(t, "2", standby.Query(t, `SELECT count(*) FROM t`))

	// Promoting a primary again is a no-op, as failover retries expect.
	require.NoError(t, c.Promote(ctx, standby.Endpoint(), time.Second))
	assert.Equal(t, uint32(2), probe(t, standby).Timeline)
}

func TestCheckpoint(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)
	c, ctx := postgres.New(), context.Background()
	redo := func(s *pgtest.Server) postgres.LSN {
		l, err := postgres.ParseLSN(s.Query(t, `SELECT redo_lsn::text FROM pg_control_checkpoint()`))
		require.NoError(t, err)
		return l
	}

	before := redo(primary)
	primary.Exec(t, `CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g`)
	require.NoError(t, c.Checkpoint(ctx, primary.Endpoint()))
	assert.Greater(t, redo(primary), before, "a new checkpoint was written")

	// On a standby CHECKPOINT makes a restartpoint.
	require.NoError(t, c.Checkpoint(ctx, standby.Endpoint()))
}
