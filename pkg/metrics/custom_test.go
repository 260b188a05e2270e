package metrics

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

const queuesYAML = `
- name: queue_jobs
  help: Jobs waiting, by queue.
  target: primary
  sql: SELECT queue, kind, count(*) AS waiting, sum(done) AS done_total FROM jobs GROUP BY 1, 2
  columns:
    queue: label
    kind: label
    waiting: gauge
    done_total: Counter
- name: uptime
  sql: SELECT extract(epoch FROM now() - pg_postmaster_start_time()) AS seconds
  columns: {seconds: gauge}
`

func TestParseCustomQueries(t *testing.T) {
	qs, errs := ParseCustomQueries(map[string]string{"queries.yaml": queuesYAML})
	require.Empty(t, errs)
	require.Len(t, qs, 2)
	assert.Equal(t, postgres.CustomQuery{
		Name: "queue_jobs", Help: "Jobs waiting, by queue.", PrimaryOnly: true,
		SQL:    "SELECT queue, kind, count(*) AS waiting, sum(done) AS done_total FROM jobs GROUP BY 1, 2",
		Labels: []string{"kind", "queue"},
		Values: []postgres.CustomValue{{Column: "done_total", Counter: true}, {Column: "waiting"}},
	}, qs[0])
	assert.False(t, qs[1].PrimaryOnly, "every member by default")
	assert.Empty(t, qs[1].Labels)
}

// A wrong query is refused with a reason; the others are kept.
func TestParseCustomQueriesRefusesWhatCannotWork(t *testing.T) {
	tests := map[string]string{
		"bad name":        `[{name: Queue-Jobs, sql: SELECT 1 AS v, columns: {v: gauge}}]`,
		"no sql":          `[{name: q, columns: {v: gauge}}]`,
		"bad target":      `[{name: q, sql: SELECT 1 AS v, target: replicas, columns: {v: gauge}}]`,
		"bad column":      `[{name: q, sql: SELECT 1 AS v, columns: {"n-1": gauge}}]`,
		"reserved column": `[{name: q, sql: SELECT 1 AS v, columns: {__n: gauge}}]`,
		"our label":       `[{name: q, sql: "SELECT 1 AS v, 'x' AS member", columns: {v: gauge, member: label}}]`,
		"bad usage":       `[{name: q, sql: SELECT 1 AS v, columns: {v: histogram}}]`,
		"no value":        `[{name: q, sql: SELECT 'x' AS l, columns: {l: label}}]`,
		"unknown field":   `[{name: q, sql: SELECT 1 AS v, columns: {v: gauge}, database: app}]`,
		"not a list":      `name: q`,
	}
	for name, y := range tests {
		t.Run(name, func(t *testing.T) {
			qs, errs := ParseCustomQueries(map[string]string{"a": y, "b": `[{name: ok, sql: SELECT 1 AS v, columns: {v: gauge}}]`})
			assert.Len(t, errs, 1)
			t.Log(errs)
			require.Len(t, qs, 1)
			assert.Equal(t, "ok", qs[0].Name)
		})
	}
}

func TestParseCustomQueriesKeepsNamesApart(t *testing.T) {
	qs, errs := ParseCustomQueries(map[string]string{
		"a": `[{name: a_b, sql: SELECT 1 AS c, columns: {c: gauge}}]`,
		"b": `[{name: a, sql: SELECT 1 AS b_c, columns: {b_c: gauge}}, {name: a_b, sql: SELECT 1 AS d, columns: {d: gauge}}]`,
	})
	require.Len(t, qs, 2, "%v", errs)
	assert.Equal(t, "a_b", qs[0].Name)
	assert.Equal(t, "a_b", qs[1].Name, "another column of the same name is another metric")
	require.Len(t, errs, 1)
	assert.ErrorContains(t, errs[0], "postgres_operator_custom_a_b_c is another query's")

	var many strings.Builder
	for i := range MaxCustomQueries + 2 {
		fmt.Fprintf(&many, "- {name: q%d, sql: SELECT 1 AS v, columns: {v: gauge}}\n", i)
	}
	qs, errs = ParseCustomQueries(map[string]string{"k": many.String()})
	assert.Len(t, qs, MaxCustomQueries)
	assert.Len(t, errs, 2)
}

func TestCustomSeries(t *testing.T) {
	qs, errs := ParseCustomQueries(map[string]string{"queries.yaml": queuesYAML})
	require.Empty(t, errs)
	m := New()
	s := sampleOf(2)
	s.Members[0].Custom = []postgres.CustomResult{
		{Query: qs[0], Rows: []postgres.CustomRow{
			{Labels: []string{"email", "mail"}, Values: []float64{3, 10}},
			{Labels: []string{"email", "sms"}, Values: []float64{math.NaN(), 20}},
		}},
		{Query: qs[1], Rows: []postgres.CustomRow{{Values: []float64{600}}}},
	}
	s.Members[1].Custom = []postgres.CustomResult{{Query: qs[1], Rows: []postgres.CustomRow{{Values: []float64{60}}}}}
	m.ObserveCluster("db", "a", s)

	c := customCollector{m.clusters}
	assert.Equal(t, 2, testutil.CollectAndCount(c, "postgres_operator_custom_queue_jobs_waiting"))
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(`
# HELP postgres_operator_custom_queue_jobs_done_total Jobs waiting, by queue. (Column done_total.)
# TYPE postgres_operator_custom_queue_jobs_done_total counter
postgres_operator_custom_queue_jobs_done_total{cluster="a",kind="email",member="a-1",namespace="db",queue="mail"} 3
postgres_operator_custom_queue_jobs_done_total{cluster="a",kind="email",member="a-1",namespace="db",queue="sms"} NaN
# HELP postgres_operator_custom_uptime_seconds Column seconds of the custom query uptime.
# TYPE postgres_operator_custom_uptime_seconds gauge
postgres_operator_custom_uptime_seconds{cluster="a",member="a-1",namespace="db"} 600
postgres_operator_custom_uptime_seconds{cluster="a",member="a-2",namespace="db"} 60
`), "postgres_operator_custom_queue_jobs_done_total", "postgres_operator_custom_uptime_seconds"))

	// The whole registry gathers them with the rest.
	_, err := m.Gatherer().Gather()
	require.NoError(t, err)
}
