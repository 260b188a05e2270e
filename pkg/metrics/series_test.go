package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// series is the cluster's cached series, for identity checks.
func series(m *Metrics, ns, name string) *clusterSeries {
	m.clusters.mu.Lock()
	defer m.clusters.mu.Unlock()
	return m.clusters.clusters[clusterKey{ns, name}]
}

// A pass that saw nothing new rebuilds nothing; a change rebuilds its own
// part only.
func TestSeriesAreRebuiltOnlyWhenTheirPartChanged(t *testing.T) {
	m := New()
	s := withStats(sampleOf(2))
	s.Members[1].Custom = []postgres.CustomResult{{Query: postgres.CustomQuery{Name: "q",
		Values: []postgres.CustomValue{{Column: "v"}}}, Rows: []postgres.CustomRow{{Values: []float64{1}}}}}
	m.ObserveCluster("db", "a", s)
	first := series(m, "db", "a")

	again := s
	again.Members = append([]MemberSample(nil), s.Members...) // a new pass's copy
	archive := *s.Archive
	again.Archive = &archive
	m.ObserveCluster("db", "a", again)
	same := series(m, "db", "a")
	assert.Same(t, &first.cluster[0], &same.cluster[0])
	assert.Same(t, &first.members[0].statsSeries[0], &same.members[0].statsSeries[0])
	assert.Same(t, &first.members[1].customSeries[0], &same.members[1].customSeries[0])

	// The replica's statistics are read again: only its stats series change.
	next := again
	next.Members = append([]MemberSample(nil), again.Members...)
	st := *next.Members[1].Stats
	st.XactCommit++
	next.Members[1].Stats = &st
	m.ObserveCluster("db", "a", next)
	changed := series(m, "db", "a")
	assert.Same(t, &first.cluster[0], &changed.cluster[0])
	assert.Same(t, &first.members[0].statsSeries[0], &changed.members[0].statsSeries[0])
	assert.NotSame(t, &first.members[1].statsSeries[0], &changed.members[1].statsSeries[0])
	assert.Same(t, &first.members[1].customSeries[0], &changed.members[1].customSeries[0])
	require.NoError(t, testutil.CollectAndCompare(statsCollector{m.clusters}, strings.NewReader(`
# HELP postgres_operator_member_transactions_committed_total Transactions committed, summed over databases (pg_stat_database.xact_commit).
# TYPE postgres_operator_member_transactions_committed_total counter
postgres_operator_member_transactions_committed_total{cluster="a",member="a-1",namespace="db"} 1000
postgres_operator_member_transactions_committed_total{cluster="a",member="a-2",namespace="db"} 1001
`), "postgres_operator_member_transactions_committed_total"))

	// The primary goes down: the cluster's own series change.
	down := next
	down.Members = append([]MemberSample(nil), next.Members...)
	down.Members[0].Up = false
	m.ObserveCluster("db", "a", down)
	assert.NotSame(t, &first.cluster[0], &series(m, "db", "a").cluster[0])
	require.NoError(t, testutil.CollectAndCompare(m.clusters, strings.NewReader(`
# HELP postgres_operator_member_up 1 when the member's PostgreSQL answered the operator's last probe, else 0.
# TYPE postgres_operator_member_up gauge
postgres_operator_member_up{cluster="a",member="a-1",namespace="db"} 0
postgres_operator_member_up{cluster="a",member="a-2",namespace="db"} 1
`), "postgres_operator_member_up"))
}

// A member's series are found by its name, wherever it is in the list.
func TestSeriesFollowMembersByName(t *testing.T) {
	m := New()
	m.ObserveCluster("db", "a", withStats(sampleOf(3)))
	old := series(m, "db", "a")
	s := withStats(sampleOf(3))
	s.Members = s.Members[1:] // a-1 removed: a-2 comes first
	s.Members[0].Stats = old.members[1].stats
	m.ObserveCluster("db", "a", s)
	cs := series(m, "db", "a")
	assert.Same(t, &old.members[1].statsSeries[0], &cs.members[0].statsSeries[0], "a-2's, kept")
	require.NoError(t, testutil.CollectAndCompare(statsCollector{m.clusters}, strings.NewReader(`
# HELP postgres_operator_member_max_connections The max_connections setting.
# TYPE postgres_operator_member_max_connections gauge
postgres_operator_member_max_connections{cluster="a",member="a-2",namespace="db"} 100
postgres_operator_member_max_connections{cluster="a",member="a-3",namespace="db"} 100
`), "postgres_operator_member_max_connections"))
}

func TestSameClusterPart(t *testing.T) {
	a := sampleOf(2)
	for name, change := range map[string]func(*ClusterSample){
		"ready":    func(s *ClusterSample) { s.Ready = false },
		"phase":    func(s *ClusterSample) { s.Phase = "Degraded" },
		"archive":  func(s *ClusterSample) { s.Archive = &ArchiveSample{ArchivedCount: 13} },
		"backups":  func(s *ClusterSample) { s.Archive = nil },
		"member":   func(s *ClusterSample) { s.Members = s.Members[:1] },
		"up":       func(s *ClusterSample) { s.Members[1].Up = false },
		"role":     func(s *ClusterSample) { s.Members[1].Role = "" },
		"timeline": func(s *ClusterSample) { s.Members[1].Timeline = 3 },
		"lag":      func(s *ClusterSample) { s.Members[1].LagBytes = 0 },
		"no lag":   func(s *ClusterSample) { s.Members[1].LagKnown = false },
	} {
		b := sampleOf(2)
		change(&b)
		assert.False(t, sameClusterPart(a, b), name)
	}
	b := sampleOf(2)
	b.Members[0].Stats = &postgres.MemberStats{}
	assert.True(t, sameClusterPart(a, b), "statistics are not the cluster's part")
}
