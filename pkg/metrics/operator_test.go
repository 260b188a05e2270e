package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOperatorMetricsFollowTheCalls(t *testing.T) {
	m := New()
	m.PassDone("ok", 20*time.Millisecond)
	m.PassDone("ok", 30*time.Millisecond)
	m.PassDone("error", time.Second)
	m.ActionApplied("Fence")
	m.ActionApplied("Promote")
	m.ActionApplied("Fence")

	assert.Equal(t, 2.0, testutil.ToFloat64(m.passes.WithLabelValues("ok")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.passes.WithLabelValues("error")))
	assert.Equal(t, 2, testutil.CollectAndCount(m.passDuration), "one histogram per outcome seen")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.actions.WithLabelValues("Fence")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.actions.WithLabelValues("Promote")))

	m.FailoverDone("db", "a", 4*time.Second)
	m.FailoverDone("db", "a", 0) // decided by an earlier process: counted, not timed
	m.SwitchoverDone("db", "b", 12*time.Second)
	assert.Equal(t, 2.0, testutil.ToFloat64(m.failovers.WithLabelValues("db", "a")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.switchovers.WithLabelValues("db", "b")))
	assert.Equal(t, uint64(1), histogramCount(t, m, "postgres_operator_failover_duration_seconds"))
	assert.Equal(t, uint64(1), histogramCount(t, m, "postgres_operator_switchover_duration_seconds"))

	assert.Equal(t, 0.0, testutil.ToFloat64(m.leader))
	m.SetLeader(true)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.leader))
	m.SetLeader(false)
	assert.Equal(t, 0.0, testutil.ToFloat64(m.leader))
}

// histogramCount is the number of observations of an unlabelled histogram.
func histogramCount(t *testing.T, m *Metrics, name string) uint64 {
	t.Helper()
	families, err := m.Gatherer().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			require.Len(t, f.GetMetric(), 1)
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

// The names and help texts follow Prometheus' conventions (promlint).
func TestMetricsPassTheLinter(t *testing.T) {
	m := New()
	m.PassDone("ok", time.Millisecond)
	m.ActionApplied("Fence")
	m.FailoverDone("db", "a", time.Second)
	m.SwitchoverDone("db", "a", time.Second)
	m.ObserveCluster("db", "a", sampleOf(3))
	m.requests.results.WithLabelValues("200", "GET", "api").Inc()
	m.requests.latency.WithLabelValues("GET", "api").Observe(0.1)
	m.queues.NewDepthMetric("q").Inc()
	problems, err := testutil.GatherAndLint(m.Gatherer())
	require.NoError(t, err)
	var ours []string
	for _, p := range problems {
		if !isRuntimeMetric(p.Metric) {
			ours = append(ours, p.Metric+": "+p.Text)
		}
	}
	assert.Empty(t, ours)
}

func isRuntimeMetric(name string) bool {
	return len(name) > 3 && (name[:3] == "go_" || len(name) > 8 && name[:8] == "process_")
}
