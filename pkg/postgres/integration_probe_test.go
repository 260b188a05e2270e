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

// pair starts a primary and one streaming standby named after the test.
func pair(t *testing.T) (primary, standby *pgtest.Server) {
	t.Helper()
	primary = pgtest.NewPrimary(t, "p")
	standby = primary.NewStandby(t, "s")
	return primary, standby
}

func probe(t *testing.T, s *pgtest.Server) postgres.Status {
	t.Helper()
	st, err := postgres.New().Probe(context.Background(), s.Endpoint())
	require.NoError(t, err)
	return st
}

func TestProbePrimaryAndStandby(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)

	p := probe(t, primary)
	assert.False(t, p.InRecovery)
	assert.Equal(t, uint32(1), p.Timeline)
	assert.NotZero(t, p.CurrentLSN)
	assert.Zero(t, p.ReceivedLSN)
	assert.Zero(t, p.ReplayedLSN)
	assert.NotZero(t, p.SystemIdentifier)
	assert.GreaterOrEqual(t, p.ServerVersion, 150000)
	assert.Less(t, p.ServerVersion, 160000)
	assert.Empty(t, p.PendingRestart)
	assert.Empty(t, p.ReceiverStatus, "a primary has no WAL receiver")
	assert.Equal(t, p.CurrentLSN, p.Position())

	s := probe(t, standby)
	assert.True(t, s.InRecovery)
	assert.Equal(t, uint32(1), s.Timeline)
	assert.Zero(t, s.CurrentLSN)
	assert.NotZero(t, s.ReplayedLSN)
	assert.Equal(t, p.SystemIdentifier, s.SystemIdentifier, "a standby belongs to its primary's cluster")
	assert.True(t, s.Streaming(), "receiver status %q", s.ReceiverStatus)
	assert.Equal(t, "127.0.0.1", s.UpstreamHost)
	assert.Equal(t, primary.Port, s.UpstreamPort)
	assert.Equal(t, postgres.SlotName("s"), s.UpstreamSlot)

	// Writes move the primary's LSN, and the standby follows.
	primary.Exec(t, `CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g`)
	p2 := probe(t, primary)
	assert.Greater(t, p2.CurrentLSN, p.CurrentLSN)
	pgtest.Eventually(t, 30*time.Second, "standby to replay the writes", func() (bool, error) {
		st, err := postgres.New().Probe(context.Background(), standby.Endpoint())
		return st.ReplayedLSN >= p2.CurrentLSN && st.ReceivedLSN >= p2.CurrentLSN, err
	})
	// The probe's text LSNs agree with the server's own.
	assert.Equal(t, probe(t, standby).ReplayedLSN.String(), standby.Query(t, `SELECT pg_last_wal_replay_lsn()::text`))
}

func TestReplicationShowsStreamingStandby(t *testing.T) {
	t.Parallel()
	primary, _ := pair(t)
	c := postgres.New()

	primary.Exec(t, `CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g`)
	target := probe(t, primary).CurrentLSN
	var r postgres.ReplicaStat
	pgtest.Eventually(t, 30*time.Second, "standby to confirm replay", func() (bool, error) {
		rs, err := c.Replication(context.Background(), primary.Endpoint())
		if err != nil || len(rs) != 1 {
			return false, err
		}
		r = rs[0]
		return r.ReplayLSN >= target, nil
	})
	assert.Equal(t, "s", r.ApplicationName)
	assert.Equal(t, "127.0.0.1", r.ClientAddr)
	assert.Equal(t, "streaming", r.State)
	assert.Equal(t, "async", r.SyncState)
	assert.NotZero(t, r.PID)
	assert.GreaterOrEqual(t, r.SentLSN, r.WriteLSN)
	assert.GreaterOrEqual(t, r.WriteLSN, r.FlushLSN)
	assert.GreaterOrEqual(t, r.FlushLSN, r.ReplayLSN)
	assert.GreaterOrEqual(t, r.ReplayLag, time.Duration(0))
}
