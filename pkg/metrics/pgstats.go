package metrics

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// PostgreSQL's statistics, as the cluster actors read them from each member
// that answers, at most once per --pg-stats-interval (30s by default), in
// one statement on the connection the probes keep (postgres.Client.Stats).
// They come with the members' samples, so they go when the member or
// cluster does.
//
// Cost, in series: per member 14 (4 connection states always, active,
// idle, idle in transaction and its aborted kind, the 2 rarer ones and
// "other" only while counted; max connections, commits, rollbacks,
// deadlocks, database size, WAL written, 2 checkpoint counters, longest
// transaction, oldest xmin age), plus the replay lag in seconds on a
// replica, plus one per replication slot on the primary (at most
// postgres.MaxSlots, the largest). 1,000 clusters of 3 members, each with
// a slot per replica: about 46,000 series (with the 18,000 of
// clusters.go, some 64,000). On the operator's side, a few hundred bytes
// per member and its series (series.go), and a quarter of a millisecond
// of CPU per read, most of it the round trip's system calls; on
// PostgreSQL's, one statement per member every interval (100 a second for
// 3,000 members at 30s, a third of what the probes make at the 10s
// reconcile interval) of a few milliseconds, bounded by the statement
// timeout, whose largest part is pg_database_size
// (postgres.MaxSizedDatabases).

var (
	descConnections = prometheus.NewDesc(namespace+"_member_connections",
		"Client backends by state (pg_stat_activity; the operator's own excluded).",
		[]string{"namespace", "cluster", "member", "state"}, nil)
	descMaxConnections = prometheus.NewDesc(namespace+"_member_max_connections",
		"The max_connections setting.", memberLabels, nil)
	descCommits = prometheus.NewDesc(namespace+"_member_transactions_committed_total",
		"Transactions committed, summed over databases (pg_stat_database.xact_commit).", memberLabels, nil)
	descRollbacks = prometheus.NewDesc(namespace+"_member_transactions_rolled_back_total",
		"Transactions rolled back, summed over databases (pg_stat_database.xact_rollback).", memberLabels, nil)
	descDeadlocks = prometheus.NewDesc(namespace+"_member_deadlocks_total",
		"Deadlocks detected, summed over databases (pg_stat_database.deadlocks).", memberLabels, nil)
	descDatabaseSize = prometheus.NewDesc(namespace+"_member_database_size_bytes",
		"Size of the databases (pg_database_size, summed over the first 32 that accept connections).", memberLabels, nil)
	descWALWritten = prometheus.NewDesc(namespace+"_member_wal_written_bytes_total",
		"WAL the member wrote (pg_stat_wal.wal_bytes).", memberLabels, nil)
	descCheckpointsTimed = prometheus.NewDesc(namespace+"_member_checkpoints_timed_total",
		"Checkpoints (restartpoints on a replica) started by checkpoint_timeout.", memberLabels, nil)
	descCheckpointsRequested = prometheus.NewDesc(namespace+"_member_checkpoints_requested_total",
		"Checkpoints (restartpoints on a replica) requested: by max_wal_size, CHECKPOINT, a base backup.", memberLabels, nil)
	descLongestTransaction = prometheus.NewDesc(namespace+"_member_longest_transaction_seconds",
		"Age of the oldest open transaction of a client backend; 0 when none is open.", memberLabels, nil)
	descOldestXmin = prometheus.NewDesc(namespace+"_member_oldest_xmin_age_transactions",
		"Age in transactions of the oldest xmin holding back vacuum: a backend's, a replication slot's, a prepared transaction's.",
		memberLabels, nil)
	descReplayLag = prometheus.NewDesc(namespace+"_member_replication_lag_seconds",
		"How long ago the primary committed what a replica replayed last; 0 when it replayed all it received.", memberLabels, nil)
	descSlotRetained = prometheus.NewDesc(namespace+"_replication_slot_retained_wal_bytes",
		"WAL a replication slot of the primary holds back (pg_current_wal_lsn() - restart_lsn).",
		[]string{"namespace", "cluster", "member", "slot"}, nil)

	statsDescs = []*prometheus.Desc{descConnections, descMaxConnections, descCommits, descRollbacks, descDeadlocks,
		descDatabaseSize, descWALWritten, descCheckpointsTimed, descCheckpointsRequested, descLongestTransaction,
		descOldestXmin, descReplayLag, descSlotRetained}
)

// alwaysStates are the connection states served at 0 too, so that rules
// on them see a series; the others appear while counted.
var alwaysStates = []string{"active", "idle", "idle in transaction", "idle in transaction (aborted)"}

// statsCollector serves the members' statistics series of the cluster
// samples (series.go builds them).
type statsCollector struct{ clusters *clusterCollector }

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range statsDescs {
		ch <- d
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	c.clusters.mu.Lock()
	defer c.clusters.mu.Unlock()
	for _, cs := range c.clusters.clusters {
		for _, m := range cs.members {
			send(ch, m.statsSeries)
		}
	}
}

// statsMetrics are a member's statistics series; none without statistics.
func statsMetrics(k clusterKey, member string, st *postgres.MemberStats) []prometheus.Metric {
	if st == nil {
		return nil
	}
	b := memberSeriesBuilder{ns: k.namespace, cluster: k.name, member: member}
	for state, n := range st.Connections {
		if !slices.Contains(alwaysStates, state) {
			b.gauge(descConnections, float64(n), state)
		}
	}
	for _, state := range alwaysStates {
		b.gauge(descConnections, float64(st.Connections[state]), state)
	}
	b.gauge(descMaxConnections, float64(st.MaxConnections))
	b.counter(descCommits, st.XactCommit)
	b.counter(descRollbacks, st.XactRollback)
	b.counter(descDeadlocks, st.Deadlocks)
	b.gauge(descDatabaseSize, float64(st.DatabaseSize))
	b.counter(descWALWritten, st.WALBytes)
	b.counter(descCheckpointsTimed, st.CheckpointsTimed)
	b.counter(descCheckpointsRequested, st.CheckpointsRequested)
	b.gauge(descLongestTransaction, st.LongestTransaction.Seconds())
	b.gauge(descOldestXmin, float64(st.OldestXminAge))
	if st.ReplayLagKnown {
		b.gauge(descReplayLag, st.ReplayLag.Seconds())
	}
	for slot, n := range st.SlotRetainedWAL {
		b.gauge(descSlotRetained, float64(n), slot)
	}
	return b.out
}

// memberSeriesBuilder builds series labelled namespace, cluster, member
// and the labels given.
type memberSeriesBuilder struct {
	seriesBuilder
	ns, cluster, member string
}

func (b *memberSeriesBuilder) gauge(d *prometheus.Desc, v float64, extra ...string) {
	b.add(d, prometheus.GaugeValue, v, extra...)
}

func (b *memberSeriesBuilder) counter(d *prometheus.Desc, v int64) {
	b.add(d, prometheus.CounterValue, float64(v))
}

func (b *memberSeriesBuilder) add(d *prometheus.Desc, t prometheus.ValueType, v float64, extra ...string) {
	b.seriesBuilder.add(d, t, v, append([]string{b.ns, b.cluster, b.member}, extra...)...)
}

// Reasons a member's statistics could not be read (StatsFailed).
var statsErrorReasons = []string{"unreachable", "timeout", "auth", "query", "panic"}

// statsErrors count what the actors failed to read, never a failed pass.
type statsErrors struct {
	scrape *prometheus.CounterVec
	custom *prometheus.CounterVec
}

func newStatsErrors() *statsErrors {
	e := &statsErrors{
		scrape: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "stats_scrape_errors_total",
			Help: "Reads of a member's statistics that failed, by reason: " + strings.Join(statsErrorReasons, ", ") + ".",
		}, []string{"reason"}),
		custom: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "custom_query_errors_total",
			Help: "Runs of a custom query on a member that failed, by query.",
		}, []string{"query"}),
	}
	for _, r := range statsErrorReasons {
		e.scrape.WithLabelValues(r) // at 0 from the start, so rate() sees the first one
	}
	return e
}

func (e *statsErrors) register(reg prometheus.Registerer) { reg.MustRegister(e.scrape, e.custom) }

// StatsFailed counts a member's statistics that could not be read.
func (e *statsErrors) StatsFailed(reason string) {
	if !slices.Contains(statsErrorReasons, reason) {
		reason = "query"
	}
	e.scrape.WithLabelValues(reason).Inc()
}

// CustomQueryFailed counts a custom query that failed on a member.
func (e *statsErrors) CustomQueryFailed(query string) { e.custom.WithLabelValues(query).Inc() }
