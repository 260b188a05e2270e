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
