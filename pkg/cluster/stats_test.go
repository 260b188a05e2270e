package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

// countingStatsErrors is a StatsErrors that counts.
type countingStatsErrors struct {
	mu      sync.Mutex
	reasons []string
	queries []string
}

func (e *countingStatsErrors) StatsFailed(reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reasons = append(e.reasons, reason)
}

func (e *countingStatsErrors) CustomQueryFailed(query string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.queries = append(e.queries, query)
}

func (e *countingStatsErrors) counted() ([]string, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string{}, e.reasons...), append([]string{}, e.queries...)
}

const statsInterval = 30 * time.Second

var (
	countQuery   = postgres.CustomQuery{Name: "count", SQL: "SELECT 1 AS n", Values: []postgres.CustomValue{{Column: "n"}}}
	primaryQuery = postgres.CustomQuery{Name: "on_primary", SQL: "SELECT 1 AS n", PrimaryOnly: true,
		Values: []postgres.CustomValue{{Column: "n"}}}
)

// statsWorld is a healthy two-member cluster whose actor reads statistics
// every statsInterval, with the two custom queries.
func statsWorld(t *testing.T) (*world, *recordingMetrics, *testingclock.FakeClock, *countingStatsErrors) {
	t.Helper()
	pgc := testCluster(2, initialized("demo-1", 2))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), primaryAt(300)), testMember(pgc, 2, up(RoleReplica), at(300)))
	m, clock := measured(w)
	errs := &countingStatsErrors{}
	w.c.cfg.Stats = StatsConfig{Interval: statsInterval, Errors: errs,
		Queries: func() []postgres.CustomQuery { return []postgres.CustomQuery{countQuery, primaryQuery} }}
	for ord, conns := range map[int32]int64{1: 7, 2: 3} {
		w.db.Update(memberIP(ord), func(s *dbfake.Server) {
			s.Stats = postgres.MemberStats{MaxConnections: 100, Connections: map[string]int64{"active": conns}}
			s.Custom = map[string][]postgres.CustomRow{"count": {{Values: []float64{float64(ord)}}}, "on_primary": {{Values: []float64{9}}}}
		})
	}
	return w, m, clock, errs
}

// waitStatsRead waits until no read is in flight.
func waitStatsRead(t *testing.T, c *Cluster) {
	t.Helper()
	require.Eventually(t, func() bool {
		c.stats.mu.Lock()
		defer c.stats.mu.Unlock()
		for _, e := range c.stats.members {
			if e.reading {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond)
}

func memberStatsOf(s Sample) map[string]*postgres.MemberStats {
	out := map[string]*postgres.MemberStats{}
	for _, m := range s.Members {
		out[m.Name] = m.Stats
	}
	return out
}

func TestStatsAreReadOffThePassOncePerInterval(t *testing.T) {
	w, m, clock, errs := statsWorld(t)

	w.pass()
	waitStatsRead(t, w.c)
	assert.Empty(t, w.db.CallsTo("Stats"), "first seen: due within an interval, not at once")
	assert.Nil(t, m.lastSample(t).Members[0].Stats)

	clock.Step(statsInterval)
	w.pass()
	waitStatsRead(t, w.c)
	assert.Len(t, w.db.CallsTo("Stats"), 2, "one read per member")
	assert.Nil(t, m.lastSample(t).Members[0].Stats, "a read lands in the next pass's sample")

	clock.Step(10 * time.Second)
	w.pass()
	waitStatsRead(t, w.c)
	assert.Len(t, w.db.CallsTo("Stats"), 2, "not due again yet")
	s := m.lastSample(t)
	stats := memberStatsOf(s)
	require.NotNil(t, stats["demo-1"])
	require.NotNil(t, stats["demo-2"])
	assert.Equal(t, int64(7), stats["demo-1"].Connections["active"])
	assert.False(t, stats["demo-1"].InRecovery)
	assert.True(t, stats["demo-2"].InRecovery)

	// The custom queries ran with them: on_primary on the primary only.
	require.Len(t, s.Members[0].Custom, 2)
	assert.Equal(t, "count", s.Members[0].Custom[0].Query.Name)
	assert.Equal(t, []float64{1}, s.Members[0].Custom[0].Rows[0].Values)
	assert.Equal(t, "on_primary", s.Members[0].Custom[1].Query.Name)
	require.Len(t, s.Members[1].Custom, 1)
	assert.Equal(t, []float64{2}, s.Members[1].Custom[0].Rows[0].Values)
	for _, c := range w.db.CallsTo("CustomQueries") {
		want := []string{"count"}
		if c.Host == memberIP(1) {
			want = []string{"count", "on_primary"}
		}
		assert.Equal(t, want, c.Args, c.Host)
	}

	clock.Step(statsInterval)
	w.pass()
	waitStatsRead(t, w.c)
	assert.Len(t, w.db.CallsTo("Stats"), 4, "due again")
	reasons, queries := errs.counted()
	assert.Empty(t, reasons)
	assert.Empty(t, queries)
}

// Failures are counted, never a pass's error; the last read stands until
// it is stale, and a custom query's failure spoils no other.
func TestStatsFailuresAreCountedNotFailed(t *testing.T) {
	w, m, clock, errs := statsWorld(t)
	clock.Step(statsInterval)
	w.pass() // first seen
	clock.Step(statsInterval)
	w.pass() // read
	waitStatsRead(t, w.c)
	require.Len(t, w.db.CallsTo("Stats"), 2)

	w.db.Update(memberIP(2), func(s *dbfake.Server) { s.Errors["Stats"] = errors.New("pq: relation does not exist (42P01)") })
	w.db.Update(memberIP(1), func(s *dbfake.Server) { s.Errors["CustomQueries/count"] = errors.New("pq: syntax error (42601)") })
	clock.Step(statsInterval)
	w.pass() // fails, counted
	waitStatsRead(t, w.c)
	reasons, queries := errs.counted()
	assert.Equal(t, []string{"query"}, reasons)
	assert.Equal(t, []string{"count"}, queries)

	w.pass()
	s := m.lastSample(t)
	assert.NotNil(t, memberStatsOf(s)["demo-2"], "the last read stands")
	require.Len(t, s.Members[0].Custom, 1, "the failed query's rows are gone, the other's stay")
	assert.Equal(t, "on_primary", s.Members[0].Custom[0].Query.Name)

	for range 3 {
		clock.Step(statsInterval)
		w.pass()
		waitStatsRead(t, w.c)
	}
	w.pass()
	assert.Nil(t, memberStatsOf(m.lastSample(t))["demo-2"], "stale after failing for three intervals")
	assert.NotNil(t, memberStatsOf(m.lastSample(t))["demo-1"])
	reasons, _ = errs.counted()
	assert.Len(t, reasons, 4)
}

func TestStatsErrorReasons(t *testing.T) {
	unreachable := &postgres.Error{Op: "stats", Unreachable: true, Err: errors.New("connection refused")}
	timeout := &postgres.Error{Op: "stats", Unreachable: true, Err: context.DeadlineExceeded}
	assert.Equal(t, "unreachable", statsErrorReason(unreachable))
	assert.Equal(t, "timeout", statsErrorReason(timeout))
	assert.Equal(t, "query", statsErrorReason(errors.New("pq: boom (XX000)")))
}

// A panicking read is recovered and counted: it would end the operator.
func TestStatsPanicIsRecovered(t *testing.T) {
	w, _, clock, errs := statsWorld(t)
	w.c.cfg.Postgres = panickingStats{w.c.cfg.Postgres}
	clock.Step(statsInterval)
	w.pass()
	clock.Step(statsInterval)
	w.pass()
	waitStatsRead(t, w.c)
	reasons, _ := errs.counted()
	assert.Equal(t, []string{"panic", "panic"}, reasons)
}

type panickingStats struct{ postgres.Client }

func (panickingStats) Stats(context.Context, postgres.Endpoint, int) (postgres.MemberStats, error) {
	panic("boom")
}

// What was read of a member is not shown once its pod or role changed,
// and a removed member is forgotten.
func TestStatsFollowTheMembers(t *testing.T) {
	w, m, clock, _ := statsWorld(t)
	clock.Step(statsInterval)
	w.pass()
	clock.Step(statsInterval)
	w.pass()
	waitStatsRead(t, w.c)
	w.pass()
	require.NotNil(t, memberStatsOf(m.lastSample(t))["demo-1"])

	// demo-1 shows up as a replica (its stats said primary).
	w.db.Update(memberIP(1), func(s *dbfake.Server) { s.Status.InRecovery = true })
	w.pass()
	assert.Nil(t, memberStatsOf(m.lastSample(t))["demo-1"], "read in another role")

	obs := &observation{members: members{}}
	w.c.stats.mu.Lock()
	w.c.stats.forgetGone(obs.members)
	assert.Empty(t, w.c.stats.members)
	w.c.stats.mu.Unlock()
}

func TestStatsOffWithoutMetricsOrInterval(t *testing.T) {
	w, _, clock, _ := statsWorld(t)
	w.c.cfg.Metrics = nil
	for range 3 {
		clock.Step(statsInterval)
		w.pass()
	}
	waitStatsRead(t, w.c)
	assert.Empty(t, w.db.CallsTo("Stats"), "metrics off")

	w, _, clock, _ = statsWorld(t)
	w.c.cfg.Stats.Interval = 0
	for range 3 {
		clock.Step(statsInterval)
		w.pass()
	}
	assert.Empty(t, w.db.CallsTo("Stats"), "interval 0")
}
