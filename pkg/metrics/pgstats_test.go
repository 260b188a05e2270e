package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// withStats gives the members of a sampleOf statistics: the first a
// primary with a slot per replica, the others replicas.
func withStats(s ClusterSample) ClusterSample {
	for i := range s.Members {
		st := &postgres.MemberStats{
			InRecovery: i > 0, MaxConnections: 100,
			Connections: map[string]int64{"active": 3, "idle": 10, "fastpath function call": 1},
			XactCommit:  1000, XactRollback: 5, Deadlocks: 1, DatabaseSize: 8 << 20, WALBytes: 1 << 30,
			CheckpointsTimed: 20, CheckpointsRequested: 2, LongestTransaction: 1500 * time.Millisecond, OldestXminAge: 42,
		}
		if i == 0 {
			st.SlotRetainedWAL = map[string]int64{}
			for _, r := range s.Members[1:] {
				st.SlotRetainedWAL[r.Name] = 4096
			}
		} else {
			st.ReplayLag, st.ReplayLagKnown = 2*time.Second, true
		}
		s.Members[i].Stats = st
	}
	return s
}

func TestStatsSeries(t *testing.T) {
	m := New()
	c := statsCollector{m.clusters}
	m.ObserveCluster("db", "a", withStats(sampleOf(3)))

	// 4 states always, plus the rarer one counted, on each member.
	assert.Equal(t, 3*5, testutil.CollectAndCount(c, "postgres_operator_member_connections"))
	assert.Equal(t, 2, testutil.CollectAndCount(c, "postgres_operator_member_replication_lag_seconds"), "replicas only")
	assert.Equal(t, 2, testutil.CollectAndCount(c, "postgres_operator_replication_slot_retained_wal_bytes"), "the primary's slots")
	assert.Equal(t, 3, testutil.CollectAndCount(c, "postgres_operator_member_oldest_xmin_age_transactions"))

	one := withStats(sampleOf(1))
	one.Members[0].Stats.SlotRetainedWAL = map[string]int64{"spare": 1 << 20}
	m.ObserveCluster("db", "a", one)
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(`
# HELP postgres_operator_member_connections Client backends by state (pg_stat_activity; the operator's own excluded).
# TYPE postgres_operator_member_connections gauge
postgres_operator_member_connections{cluster="a",member="a-1",namespace="db",state="active"} 3
postgres_operator_member_connections{cluster="a",member="a-1",namespace="db",state="fastpath function call"} 1
postgres_operator_member_connections{cluster="a",member="a-1",namespace="db",state="idle"} 10
postgres_operator_member_connections{cluster="a",member="a-1",namespace="db",state="idle in transaction"} 0
postgres_operator_member_connections{cluster="a",member="a-1",namespace="db",state="idle in transaction (aborted)"} 0
# HELP postgres_operator_member_longest_transaction_seconds Age of the oldest open transaction of a client backend; 0 when none is open.
# TYPE postgres_operator_member_longest_transaction_seconds gauge
postgres_operator_member_longest_transaction_seconds{cluster="a",member="a-1",namespace="db"} 1.5
# HELP postgres_operator_member_transactions_committed_total Transactions committed, summed over databases (pg_stat_database.xact_commit).
# TYPE postgres_operator_member_transactions_committed_total counter
postgres_operator_member_transactions_committed_total{cluster="a",member="a-1",namespace="db"} 1000
# HELP postgres_operator_member_wal_written_bytes_total WAL the member wrote (pg_stat_wal.wal_bytes).
# TYPE postgres_operator_member_wal_written_bytes_total counter
postgres_operator_member_wal_written_bytes_total{cluster="a",member="a-1",namespace="db"} 1.073741824e+09
# HELP postgres_operator_replication_slot_retained_wal_bytes WAL a replication slot of the primary holds back (pg_current_wal_lsn() - restart_lsn).
# TYPE postgres_operator_replication_slot_retained_wal_bytes gauge
postgres_operator_replication_slot_retained_wal_bytes{cluster="a",member="a-1",namespace="db",slot="spare"} 1.048576e+06
`), "postgres_operator_member_connections", "postgres_operator_member_longest_transaction_seconds",
		"postgres_operator_member_transactions_committed_total", "postgres_operator_member_wal_written_bytes_total",
		"postgres_operator_replication_slot_retained_wal_bytes"))

	// A member not read yet, or whose read went stale, has none.
	one.Members[0].Stats = nil
	m.ObserveCluster("db", "a", one)
	assert.Zero(t, testutil.CollectAndCount(c))
	m.ForgetCluster("db", "a")
	assert.Zero(t, testutil.CollectAndCount(c))
}

// The cost the file's comment states: 46 series for a cluster of three
// (a primary with two slots), 14 a member and one more on each replica
// and for each slot.
func TestStatsSeriesPerCluster(t *testing.T) {
	m := New()
	s := withStats(sampleOf(3))
	for _, ms := range s.Members {
		delete(ms.Stats.Connections, "fastpath function call")
	}
	m.ObserveCluster("db", "a", s)
	assert.Equal(t, 46, testutil.CollectAndCount(statsCollector{m.clusters}))
}

func TestStatsErrorsAreCounted(t *testing.T) {
	m := New()
	m.StatsFailed("timeout")
	m.StatsFailed("timeout")
	m.StatsFailed("something else")
	m.CustomQueryFailed("queue_jobs")
	require.NoError(t, testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(`
# HELP postgres_operator_stats_scrape_errors_total Reads of a member's statistics that failed, by reason: unreachable, timeout, auth, query, panic.
# TYPE postgres_operator_stats_scrape_errors_total counter
postgres_operator_stats_scrape_errors_total{reason="auth"} 0
postgres_operator_stats_scrape_errors_total{reason="panic"} 0
postgres_operator_stats_scrape_errors_total{reason="query"} 1
postgres_operator_stats_scrape_errors_total{reason="timeout"} 2
postgres_operator_stats_scrape_errors_total{reason="unreachable"} 0
# HELP postgres_operator_custom_query_errors_total Runs of a custom query on a member that failed, by query.
# TYPE postgres_operator_custom_query_errors_total counter
postgres_operator_custom_query_errors_total{query="queue_jobs"} 1
`), "postgres_operator_stats_scrape_errors_total", "postgres_operator_custom_query_errors_total"))
}
