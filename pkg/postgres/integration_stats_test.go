//go:build integration

package postgres_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// holdTransaction opens a repeatable-read transaction that holds a
// snapshot (and so an xmin) until the test ends.
func holdTransaction(t *testing.T, s *pgtest.Server) {
	t.Helper()
	conn, err := s.DB(t).Conn(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = conn.ExecContext(context.Background(), `BEGIN ISOLATION LEVEL REPEATABLE READ`)
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), `SELECT count(*) FROM pg_class`)
	require.NoError(t, err)
}

// deadlock makes two transactions wait for each other until PostgreSQL
// cancels one (after deadlock_timeout, 1s).
func deadlock(t *testing.T, s *pgtest.Server) {
	t.Helper()
	s.Exec(t, `CREATE TABLE locks (id int PRIMARY KEY); INSERT INTO locks VALUES (1), (2)`)
	db := s.DB(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, order := range [][2]int{{1, 2}, {2, 1}} {
		wg.Go(func() {
			tx, err := db.Begin()
			if !assert.NoError(t, err) {
				return
			}
			defer func() { _ = tx.Rollback() }()
			_, err = tx.Exec(`UPDATE locks SET id = id WHERE id = $1`, order[0])
			assert.NoError(t, err)
			time.Sleep(200 * time.Millisecond)
			_, errs[i] = tx.Exec(`UPDATE locks SET id = id WHERE id = $1`, order[1])
		})
	}
	wg.Wait()
	assert.True(t, postgres.SQLState(errs[0]) == "40P01" || postgres.SQLState(errs[1]) == "40P01", "a deadlock: %v", errs)
}

func TestStatsPrimaryAndStandby(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)
	c, ctx := postgres.New(), context.Background()

	primary.Exec(t, `CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g`)
	_, err := primary.QueryErr(`SELECT 1/0`)
	require.Error(t, err, "a transaction rolled back")
	primary.Exec(t, `CHECKPOINT`)
	require.NoError(t, c.EnsureSlot(ctx, primary.Endpoint(), "spare"))
	holdTransaction(t, primary)
	for range 5 {
		primary.Exec(t, `SELECT txid_current()`) // each takes a transaction ID
	}
	primary.Exec(t, `INSERT INTO t SELECT g FROM generate_series(1, 10000) g`) // WAL the spare slot holds
	deadlock(t, primary)                                                       // takes more than a second

	// Backends report their counters when idle, at most once a second,
	// and may put it off for up to 10 seconds.
	var p postgres.MemberStats
	pgtest.Eventually(t, 30*time.Second, "the deadlock and rollbacks reported", func() (bool, error) {
		p, err = c.Stats(ctx, primary.Endpoint(), 0)
		return p.Deadlocks > 0 && p.XactRollback > 0 && p.WALBytes > 0, err
	})
	assert.False(t, p.InRecovery)
	assert.GreaterOrEqual(t, p.ServerVersion, 150000)
	assert.Equal(t, int64(100), p.MaxConnections, "the default")
	assert.GreaterOrEqual(t, p.Connections["idle in transaction"], int64(1), "%v", p.Connections)
	assert.NotContains(t, p.Connections, "active", "its own connection is not counted: %v", p.Connections)
	assert.Positive(t, p.XactCommit)
	assert.Positive(t, p.XactRollback)
	assert.Equal(t, int64(1), p.Deadlocks)
	assert.Greater(t, p.DatabaseSize, int64(3<<20), "three databases of a few MiB")
	assert.Positive(t, p.WALBytes)
	assert.Positive(t, p.CheckpointsRequested, "CHECKPOINT and the base backup's")
	assert.GreaterOrEqual(t, p.LongestTransaction, time.Second, "the held transaction")
	assert.Less(t, p.LongestTransaction, time.Minute)
	assert.GreaterOrEqual(t, p.OldestXminAge, int64(5), "the held snapshot is older than five transactions")
	assert.False(t, p.ReplayLagKnown, "a primary replays nothing")
	require.Contains(t, p.SlotRetainedWAL, "spare")
	require.Contains(t, p.SlotRetainedWAL, postgres.SlotName(standby.Name))
	assert.Greater(t, p.SlotRetainedWAL["spare"], int64(100_000), "the inserts' WAL")
	assert.GreaterOrEqual(t, p.SlotRetainedWAL["spare"], p.SlotRetainedWAL[postgres.SlotName(standby.Name)])

	start := time.Now()
	s, err := c.Stats(ctx, standby.Endpoint(), 0)
	require.NoError(t, err)
	t.Logf("Stats of the standby: %v, connection included", time.Since(start))
	assert.True(t, s.InRecovery)
	assert.Empty(t, s.SlotRetainedWAL, "slots are read on the primary")
	assert.Equal(t, int64(100), s.MaxConnections)
	pgtest.Eventually(t, 30*time.Second, "standby to replay all it received", func() (bool, error) {
		s, err := c.Stats(ctx, standby.Endpoint(), 0)
		return s.ReplayLagKnown && s.ReplayLag == 0, err
	})

	// The standby replays behind: a paused replay ages.
	standby.Exec(t, `SELECT pg_wal_replay_pause()`)
	primary.Exec(t, `INSERT INTO t VALUES (1)`)
	time.Sleep(1100 * time.Millisecond)
	primary.Exec(t, `INSERT INTO t VALUES (2)`)
	pgtest.Eventually(t, 30*time.Second, "replay lag to show", func() (bool, error) {
		s, err := c.Stats(ctx, standby.Endpoint(), 0)
		return s.ReplayLagKnown && s.ReplayLag >= time.Second, err
	})
	standby.Exec(t, `SELECT pg_wal_replay_resume()`)
}

func TestCustomQueries(t *testing.T) {
	t.Parallel()
	primary := pgtest.NewPrimary(t, "p")
	primary.Exec(t, `CREATE TABLE t (id int); CREATE SEQUENCE s`)
	c := postgres.NewWithTimeouts(postgres.Timeouts{Statement: time.Second})
	gauge := func(col string) postgres.CustomValue { return postgres.CustomValue{Column: col} }
	qs := []postgres.CustomQuery{
		{Name: "databases", SQL: `SELECT datname, pg_database_size(datname) AS bytes, datallowconn AS ok,
		     NULL::int AS nothing, 'x' AS ignored FROM pg_database ORDER BY datname;`,
			Labels: []string{"datname"}, Values: []postgres.CustomValue{{Column: "bytes", Counter: true}, gauge("ok"), gauge("nothing")}},
		{Name: "broken", SQL: `SELECT no_such_column AS v FROM pg_class`, Values: []postgres.CustomValue{gauge("v")}},
		{Name: "many", SQL: `SELECT g::text AS l, g AS v FROM generate_series(1, 1000) g`, Labels: []string{"l"}, Values: []postgres.CustomValue{gauge("v")}},
		{Name: "writes", SQL: `SELECT nextval('s') AS v`, Values: []postgres.CustomValue{gauge("v")}},
		{Name: "two", SQL: `SELECT 1 AS v; DROP TABLE t`, Values: []postgres.CustomValue{gauge("v")}},
		{Name: "missing", SQL: `SELECT 1 AS v`, Values: []postgres.CustomValue{gauge("w")}},
		{Name: "same", SQL: `SELECT 'a' AS l, 1 AS v UNION ALL SELECT 'a', 2`, Labels: []string{"l"}, Values: []postgres.CustomValue{gauge("v")}},
		{Name: "text", SQL: `SELECT 'many' AS v`, Values: []postgres.CustomValue{gauge("v")}},
		{Name: "slow", SQL: `SELECT pg_sleep(10) IS NULL AS v`, Values: []postgres.CustomValue{gauge("v")}},
		{Name: "answer", SQL: `SELECT 42 AS answer, now() AS at`, Values: []postgres.CustomValue{gauge("answer"), gauge("at")}},
	}
	start := time.Now()
	res := c.CustomQueries(context.Background(), primary.Endpoint(), qs)
	t.Logf("%d queries in %v", len(qs), time.Since(start))
	require.Len(t, res, len(qs))
	for i, r := range res {
		assert.Equal(t, qs[i].Name, r.Query.Name)
		t.Logf("%s: %v", r.Query.Name, r.Err)
	}

	require.NoError(t, res[0].Err)
	require.Len(t, res[0].Rows, 3)
	assert.Equal(t, []string{"postgres"}, res[0].Rows[0].Labels)
	assert.Greater(t, res[0].Rows[0].Values[0], float64(1<<20))
	assert.Equal(t, 1.0, res[0].Rows[0].Values[1])
	assert.True(t, math.IsNaN(res[0].Rows[0].Values[2]), "NULL is NaN")
	assert.Equal(t, []string{"template0"}, res[0].Rows[1].Labels)
	assert.Equal(t, 0.0, res[0].Rows[1].Values[1], "template0 allows no connections")

	assert.ErrorContains(t, res[1].Err, "no_such_column")
	assert.ErrorContains(t, res[2].Err, "more than 100 rows")
	assert.Equal(t, "25006", postgres.SQLState(res[3].Err), "read-only transaction: %v", res[3].Err)
	assert.Equal(t, "42601", postgres.SQLState(res[4].Err), "one statement: %v", res[4].Err)
	assert.ErrorContains(t, res[5].Err, `no column "w"`)
	assert.ErrorContains(t, res[6].Err, "same labels")
	assert.ErrorContains(t, res[7].Err, "not a number")
	assert.Equal(t, "57014", postgres.SQLState(res[8].Err), "statement timeout: %v", res[8].Err)
	require.NoError(t, res[9].Err, "a query after failed ones still runs")
	require.Len(t, res[9].Rows, 1)
	assert.Equal(t, 42.0, res[9].Rows[0].Values[0])
	assert.InDelta(t, float64(time.Now().Unix()), res[9].Rows[0].Values[1], 30, "a timestamp is Unix seconds")

	assert.Equal(t, "0", primary.Query(t, `SELECT count(*) FROM t`), "nothing was written")
	assert.Equal(t, "1", primary.Query(t, `SELECT nextval('s')`), "nothing was written")

	// Unreachable: every query fails.
	ep := primary.Endpoint()
	ep.Port = pgtest.FreePort(t)
	for _, r := range c.CustomQueries(context.Background(), ep, qs[:2]) {
		assert.True(t, postgres.IsUnreachable(r.Err), "%v", r.Err)
	}
}
