package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"postgres-operator.dev/postgres-operator/pkg/cluster"
	"postgres-operator.dev/postgres-operator/pkg/metrics"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

func TestStatsFlags(t *testing.T) {
	o, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, o.pgStatsInterval, "on by default, with no flag in the Deployment")
	assert.Empty(t, o.customQueries)

	o, err = parseFlags([]string{"--pg-stats-interval=0", "--custom-queries="})
	require.NoError(t, err)
	assert.Zero(t, o.pgStatsInterval)

	o, err = parseFlags([]string{"--custom-queries=monitoring/pg-queries"})
	require.NoError(t, err)
	assert.Equal(t, "monitoring/pg-queries", o.customQueries)

	for args, want := range map[string]string{
		"--pg-stats-interval=10ms":                   "--pg-stats-interval must be 0 (off) or at least 1s",
		"--custom-queries=pg-queries":                "--custom-queries must be <namespace>/<name>",
		"--custom-queries=a/b/c":                     "--custom-queries must be <namespace>/<name>",
		"--custom-queries=/b":                        "--custom-queries must be <namespace>/<name>",
		"--pg-stats-interval=0 --custom-queries=a/b": "it needs --pg-stats-interval above 0",
	} {
		_, err := parseFlags(splitArgs(args))
		assert.ErrorContains(t, err, want, args)
	}
}

func splitArgs(s string) []string { return strings.Fields(s) }

func TestStatsConfig(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	o := &options{pgStatsInterval: 30 * time.Second}

	cfg, _ := statsConfig(ctx, o, kube, nil)
	assert.Zero(t, cfg.Interval, "metrics off: no statistics")

	m := metrics.New()
	cfg, _ = statsConfig(ctx, o, kube, clusterMetrics{m})
	assert.Equal(t, 30*time.Second, cfg.Interval)
	require.NotNil(t, cfg.Errors, "failures are counted")
	assert.Nil(t, cfg.Queries)
	cfg.Errors.StatsFailed("timeout")
	assert.Equal(t, 1.0, gatheredCounter(t, m, "timeout"))
}

func gatheredCounter(t *testing.T, m *metrics.Metrics, reason string) float64 {
	t.Helper()
	families, err := m.Gatherer().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "postgres_operator_stats_scrape_errors_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			if s.GetLabel()[0].GetValue() == reason {
				return s.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no counter for %s", reason)
	return 0
}

// The ConfigMap's queries follow its changes; a deleted one leaves none.
func TestCustomQueriesFollowTheConfigMap(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "pg-queries"},
		Data: map[string]string{"queries.yaml": `[{name: one, sql: SELECT 1 AS v, columns: {v: gauge}}]`}}
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "other"},
		Data: map[string]string{"queries.yaml": `[{name: other, sql: SELECT 1 AS v, columns: {v: gauge}}]`}}
	kube := fake.NewClientset(cm, other)
	o := &options{pgStatsInterval: 30 * time.Second, customQueries: "monitoring/pg-queries"}
	cfg, start := statsConfig(ctx, o, kube, clusterMetrics{metrics.New()})
	require.NotNil(t, cfg.Queries)
	start(ctx.Done())

	names := func() []string {
		var out []string
		for _, q := range cfg.Queries() {
			out = append(out, q.Name)
		}
		return out
	}
	require.Eventually(t, func() bool { return len(names()) == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"one"}, names(), "only the named ConfigMap")

	cm = cm.DeepCopy()
	cm.Data["more.yaml"] = `[{name: two, sql: SELECT 2 AS v, columns: {v: gauge}}, {name: Bad}]`
	_, err := kube.CoreV1().ConfigMaps("monitoring").Update(ctx, cm, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(names()) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"two", "one"}, names(), "keys in order; the bad query refused")

	require.NoError(t, kube.CoreV1().ConfigMaps("monitoring").Delete(ctx, "pg-queries", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool { return len(names()) == 0 }, 5*time.Second, 10*time.Millisecond)
}

func TestClusterMetricsHandsTheStatsOver(t *testing.T) {
	m := metrics.New()
	q := postgres.CustomQuery{Name: "one", Values: []postgres.CustomValue{{Column: "v"}}}
	clusterMetrics{m}.ObserveCluster("db", "a", cluster.Sample{Members: []cluster.MemberSample{{
		Name: "a-1", Up: true, Role: cluster.RolePrimary,
		Stats:  &postgres.MemberStats{MaxConnections: 100},
		Custom: []postgres.CustomResult{{Query: q, Rows: []postgres.CustomRow{{Values: []float64{1}}}}},
	}}})
	n, err := testutil.GatherAndCount(m.Gatherer(), "postgres_operator_member_max_connections", "postgres_operator_custom_one_v")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}
