package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleOf is a ready cluster of n members: the first the primary, the
// others replicas 16 bytes behind, backups on.
func sampleOf(n int) ClusterSample {
	s := ClusterSample{Ready: true, Phase: "Running", Archive: &ArchiveSample{
		LastArchivedTime: time.Unix(1700000000, 0), ArchivedCount: 12, FailedCount: 2, Pending: 3, Dropped: 1}}
	for i := 1; i <= n; i++ {
		ms := MemberSample{Name: fmt.Sprintf("a-%d", i), Up: true, Role: "replica", Timeline: 2, LagBytes: 16, LagKnown: true}
		if i == 1 {
			ms.Role, ms.LagBytes, ms.LagKnown = "primary", 0, false
		}
		s.Members = append(s.Members, ms)
	}
	return s
}

func TestClusterSeriesFollowTheSamples(t *testing.T) {
	m := New()
	c := m.clusters
	m.ObserveCluster("db", "a", sampleOf(3))

	assert.Equal(t, 3, testutil.CollectAndCount(c, "postgres_operator_member_up"))
	assert.Equal(t, 3, testutil.CollectAndCount(c, "postgres_operator_member_role"))
	assert.Equal(t, 3, testutil.CollectAndCount(c, "postgres_operator_member_timeline"))
	assert.Equal(t, 2, testutil.CollectAndCount(c, "postgres_operator_member_replication_lag_bytes"), "replicas only")
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(`
# HELP postgres_operator_cluster_phase 1, with the cluster's status.phase.
# TYPE postgres_operator_cluster_phase gauge
postgres_operator_cluster_phase{cluster="a",namespace="db",phase="Running"} 1
# HELP postgres_operator_cluster_ready 1 when the cluster's Ready condition is true (every member ready, the primary up), else 0.
# TYPE postgres_operator_cluster_ready gauge
postgres_operator_cluster_ready{cluster="a",namespace="db"} 1
# HELP postgres_operator_member_role 1, with the member's role: primary, replica, diverged (out of -ro until re-cloned), or none (no pod, or fenced).
# TYPE postgres_operator_member_role gauge
postgres_operator_member_role{cluster="a",member="a-1",namespace="db",role="primary"} 1
postgres_operator_member_role{cluster="a",member="a-2",namespace="db",role="replica"} 1
postgres_operator_member_role{cluster="a",member="a-3",namespace="db",role="replica"} 1
# HELP postgres_operator_archive_failed_total Failed attempts to archive WAL on the primary (pg_stat_archiver.failed_count; starts over on a new primary).
# TYPE postgres_operator_archive_failed_total counter
postgres_operator_archive_failed_total{cluster="a",namespace="db"} 2
# HELP postgres_operator_archive_last_archived_timestamp_seconds When the primary last archived a WAL file (pg_stat_archiver.last_archived_time).
# TYPE postgres_operator_archive_last_archived_timestamp_seconds gauge
postgres_operator_archive_last_archived_timestamp_seconds{cluster="a",namespace="db"} 1.7e+09
`), "postgres_operator_cluster_phase", "postgres_operator_cluster_ready", "postgres_operator_member_role",
		"postgres_operator_archive_failed_total", "postgres_operator_archive_last_archived_timestamp_seconds"))

	// The primary fails: a-1 is down and fenced, a-2 not promoted yet, a-3
	// was removed; the phase changes and backups are turned off.
	next := sampleOf(2)
	next.Ready, next.Phase, next.Archive = false, "FailingOver", nil
	next.Members[0] = MemberSample{Name: "a-1"}
	m.ObserveCluster("db", "a", next)
	assert.Equal(t, 2, testutil.CollectAndCount(c, "postgres_operator_member_up"), "a-3's series are gone")
	assert.Equal(t, 1, testutil.CollectAndCount(c, "postgres_operator_member_timeline"), "no timeline for a member that is down")
	assert.Equal(t, 1, testutil.CollectAndCount(c, "postgres_operator_cluster_phase"), "one phase at a time")
	assert.Equal(t, 0, testutil.CollectAndCount(c, "postgres_operator_archive_pending_wal"))
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(`
# HELP postgres_operator_member_up 1 when the member's PostgreSQL answered the operator's last probe, else 0.
# TYPE postgres_operator_member_up gauge
postgres_operator_member_up{cluster="a",member="a-1",namespace="db"} 0
postgres_operator_member_up{cluster="a",member="a-2",namespace="db"} 1
# HELP postgres_operator_member_role 1, with the member's role: primary, replica, diverged (out of -ro until re-cloned), or none (no pod, or fenced).
# TYPE postgres_operator_member_role gauge
postgres_operator_member_role{cluster="a",member="a-1",namespace="db",role="none"} 1
postgres_operator_member_role{cluster="a",member="a-2",namespace="db",role="replica"} 1
`), "postgres_operator_member_up", "postgres_operator_member_role"))
}

func TestForgetClusterRemovesItsSeriesOnly(t *testing.T) {
	m := New()
	m.ObserveCluster("db", "a", sampleOf(3))
	m.ObserveCluster("db", "b", sampleOf(2))
	m.FailoverDone("db", "a", time.Second)
	m.FailoverDone("db", "b", time.Second)
	m.SwitchoverDone("db", "a", time.Second)
	before := countSeries(t, m)

	m.ForgetCluster("db", "a")
	assert.Equal(t, 2, testutil.CollectAndCount(m.clusters, "postgres_operator_member_up"), "b's members stay")
	assert.Equal(t, 1, testutil.CollectAndCount(m.failovers), "b's failovers stay")
	assert.Equal(t, 0, testutil.CollectAndCount(m.switchovers))
	// a: 3 members × 4 series less the primary's lag, ready, phase, 5
	// archive series, 2 counters.
	assert.Equal(t, before-(3*4-1)-2-5-2, countSeries(t, m))

	m.ForgetCluster("db", "b")
	assert.Equal(t, 0, testutil.CollectAndCount(m.clusters))
	m.ForgetCluster("db", "never-seen") // harmless
}

// countSeries counts every series the registry serves.
func countSeries(t *testing.T, m *Metrics) int {
	t.Helper()
	families, err := m.Gatherer().Gather()
	require.NoError(t, err)
	n := 0
	for _, f := range families {
		n += len(f.GetMetric())
	}
	return n
}

func TestHandlerServesTheTextFormat(t *testing.T) {
	m := New()
	m.ObserveCluster("db", "a", sampleOf(1))
	m.ActionApplied("Fence")
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))
	text := string(body)
	for _, line := range []string{
		`postgres_operator_actions_total{kind="Fence"} 1`,
		`postgres_operator_member_up{cluster="a",member="a-1",namespace="db"} 1`,
		`postgres_operator_leader 0`,
		"# TYPE postgres_operator_failover_duration_seconds histogram",
		"# TYPE go_goroutines gauge",
	} {
		assert.Contains(t, text, line+"\n")
	}
}
