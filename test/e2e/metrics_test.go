//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// scrape reads one operator pod's /metrics through the API server's pod
// proxy, as Prometheus would reach it in the cluster.
func scrape(t *testing.T, f *framework.Framework, pod string) map[string]float64 {
	t.Helper()
	out := f.KubectlOK(t, "", "get", "--raw",
		fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:8080/proxy/metrics", framework.OperatorNamespace, pod))
	series := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndex(line, " ")
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		series[line[:i]] = v
	}
	return series
}

// sum adds the series of a metric whose labels contain every given pair.
func sum(series map[string]float64, metric string, labels ...string) (float64, bool) {
	total, found := 0.0, false
	for k, v := range series {
		name, rest, _ := strings.Cut(k, "{")
		if name != metric {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(rest, l)
		}
		if ok {
			total, found = total+v, true
		}
	}
	return total, found
}

// The operator's /metrics follows what happens: the leader says so, the
// member roles and timeline are exported without an agent, and a failover
// increments the counter, records its duration and moves the primary.
func TestMetricsFollowAFailover(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "metrics")
	createReadyCluster(t, f, ns, "mx", 2, "")
	leader, err := f.LeaseHolder()
	require.NoError(t, err)
	primary, replicas := f.Roles(t, ns, "mx")
	cl := `cluster="mx"`
	nsl := fmt.Sprintf(`namespace="%s"`, ns)

	var before map[string]float64
	framework.Eventually(t, 30*time.Second, "the cluster's series", func() (bool, error) {
		before = scrape(t, f, leader)
		v, ok := sum(before, "postgres_operator_member_role", cl, nsl, `member="`+primary+`"`, `role="primary"`)
		return ok && v == 1, framework.Errorf("member_role of %s: %v %v", primary, v, ok)
	})
	lead, _ := sum(before, "postgres_operator_leader")
	assert.Equal(t, 1.0, lead, "the leader says it leads")
	adds, _ := sum(before, "workqueue_adds_total", `name="postgrescluster"`)
	assert.Positive(t, adds)
	_, ok := sum(before, "rest_client_requests_total")
	assert.True(t, ok, "API requests are counted")
	failovers, _ := sum(before, "postgres_operator_failovers_total", cl, nsl)
	timed, _ := sum(before, "postgres_operator_failover_duration_seconds_count")
	timeline, _ := sum(before, "postgres_operator_member_timeline", cl, nsl, `member="`+primary+`"`)

	_, err = f.DeletePod(ns, primary, nil)
	require.NoError(t, err)
	waitNewPrimary(t, f, ns, "mx", primary)
	framework.Eventually(t, 30*time.Second, "the failover in the metrics", func() (bool, error) {
		after := scrape(t, f, leader)
		n, _ := sum(after, "postgres_operator_failovers_total", cl, nsl)
		d, _ := sum(after, "postgres_operator_failover_duration_seconds_count")
		s, _ := sum(after, "postgres_operator_failover_duration_seconds_sum")
		role, _ := sum(after, "postgres_operator_member_role", cl, nsl, `member="`+replicas[0]+`"`, `role="primary"`)
		tl, _ := sum(after, "postgres_operator_member_timeline", cl, nsl, `member="`+replicas[0]+`"`)
		return n == failovers+1 && d == timed+1 && s > 0 && role == 1 && tl > timeline,
			framework.Errorf("failovers %v→%v, timed %v→%v (sum %v), %s primary %v, timeline %v→%v",
				failovers, n, timed, d, s, replicas[0], role, timeline, tl)
	})

	f.KubectlOK(t, "", "-n", ns, "delete", "pgc", "mx", "--wait=true")
	framework.Eventually(t, 30*time.Second, "no series of the deleted cluster", func() (bool, error) {
		_, ok := sum(scrape(t, f, leader), "postgres_operator_member_up", cl, nsl)
		return !ok, framework.Errorf("member_up of mx still exported")
	})
}

// Replication lag rises while a replica's replay is held back under
// writes, and falls back to 0 once it replays again; the statistics read
// from each member (every --pg-stats-interval, 30 s) count the commits.
func TestMetricsFollowLoad(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "metrics-load")
	pw := createReadyCluster(t, f, ns, "ld", 2, "")
	leader, err := f.LeaseHolder()
	require.NoError(t, err)
	primary, replicas := f.Roles(t, ns, "ld")
	require.Len(t, replicas, 1)
	member := func(m string) []string {
		return []string{`cluster="ld"`, fmt.Sprintf(`namespace="%s"`, ns), `member="` + m + `"`}
	}

	var commits float64
	framework.Eventually(t, 90*time.Second, "the primary's statistics", func() (bool, error) {
		s := scrape(t, f, leader)
		max, okMax := sum(s, "postgres_operator_member_max_connections", member(primary)...)
		c, okC := sum(s, "postgres_operator_member_transactions_committed_total", member(primary)...)
		commits = c
		return okMax && max > 0 && okC && c > 0, framework.Errorf("max_connections %v (%v), commits %v (%v)", max, okMax, c, okC)
	})

	f.Query(t, ns, replicas[0], pw, "select pg_wal_replay_pause()")
	f.Query(t, ns, primary, pw, "create table load(x text); insert into load select repeat('x', 1000) from generate_series(1, 20000)")
	framework.Eventually(t, 30*time.Second, "lag rises", func() (bool, error) {
		lag, ok := sum(scrape(t, f, leader), "postgres_operator_member_replication_lag_bytes", member(replicas[0])...)
		return ok && lag > 1<<20, framework.Errorf("lag of %s: %v (%v)", replicas[0], lag, ok)
	})
	f.Query(t, ns, replicas[0], pw, "select pg_wal_replay_resume()")
	framework.Eventually(t, 30*time.Second, "lag falls", func() (bool, error) {
		lag, ok := sum(scrape(t, f, leader), "postgres_operator_member_replication_lag_bytes", member(replicas[0])...)
		return ok && lag == 0, framework.Errorf("lag of %s: %v (%v)", replicas[0], lag, ok)
	})
	framework.Eventually(t, 90*time.Second, "the commits counted", func() (bool, error) {
		c, _ := sum(scrape(t, f, leader), "postgres_operator_member_transactions_committed_total", member(primary)...)
		return c > commits, framework.Errorf("commits %v, before %v", c, commits)
	})
}
