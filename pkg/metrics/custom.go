package metrics

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// Custom queries: the operator's administrator names a ConfigMap
// (--custom-queries) whose every key holds a YAML list of queries:
//
//	- name: queue_jobs                 # [a-z_][a-z0-9_]*, unique
//	  help: Jobs waiting, by queue.    # optional
//	  target: primary                  # or all (the default): every member that answers
//	  sql: SELECT queue, count(*) AS waiting FROM jobs GROUP BY queue
//	  columns:                         # label, gauge or counter; other columns are ignored
//	    queue: label
//	    waiting: gauge
//
// Each gauge or counter column is a series
// postgres_operator_custom_<name>_<column> labelled namespace, cluster,
// member and the label columns. Queries run read-only in the postgres
// database, at most MaxCustomQueries of them, each answering at most
// postgres.MaxCustomRows rows (a query with more fails): at most 100
// series per value column, query and member.

// MaxCustomQueries bounds the queries of the ConfigMap; the others are
// refused.
const MaxCustomQueries = 32

// Column usages.
const (
	usageLabel   = "label"
	usageGauge   = "gauge"
	usageCounter = "counter"
)

type customQueryDef struct {
	Name    string            `json:"name"`
	Help    string            `json:"help"`
	Target  string            `json:"target"`
	SQL     string            `json:"sql"`
	Columns map[string]string `json:"columns"`
}

var (
	queryName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// ParseCustomQueries reads the queries of a ConfigMap's data, its keys in
// order. A query that is wrong is left out with an error saying why; the
// others are kept.
func ParseCustomQueries(data map[string]string) ([]postgres.CustomQuery, []error) {
	var out []postgres.CustomQuery
	var errs []error
	names := map[string]bool{} // metric names taken
	for _, key := range slices.Sorted(maps.Keys(data)) {
		var defs []customQueryDef
		if err := yaml.UnmarshalStrict([]byte(data[key]), &defs); err != nil {
			errs = append(errs, fmt.Errorf("key %s: %w", key, err))
			continue
		}
		for i, d := range defs {
			q, err := d.query()
			if err == nil && len(out) == MaxCustomQueries {
				err = fmt.Errorf("more than %d queries", MaxCustomQueries)
			}
			if err == nil {
				err = claimNames(names, q)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("key %s, query %d (%q): %w", key, i+1, d.Name, err))
				continue
			}
			out = append(out, q)
		}
	}
	return out, errs
}

// query checks a definition and turns it into a query; the label and
// value columns are sorted by name.
func (d customQueryDef) query() (postgres.CustomQuery, error) {
	q := postgres.CustomQuery{Name: d.Name, Help: d.Help, SQL: strings.TrimSpace(d.SQL)}
	switch {
	case !queryName.MatchString(d.Name):
		return q, errors.New("name must match [a-z_][a-z0-9_]*")
	case q.SQL == "":
		return q, errors.New("no sql")
	case d.Target != "" && d.Target != "all" && d.Target != "primary":
		return q, fmt.Errorf("target %q is neither all nor primary", d.Target)
	}
	q.PrimaryOnly = d.Target == "primary"
	for _, col := range slices.Sorted(maps.Keys(d.Columns)) {
		if !labelName.MatchString(col) || strings.HasPrefix(col, "__") {
			return q, fmt.Errorf("column %q is not a valid Prometheus name", col)
		}
		switch usage := strings.ToLower(d.Columns[col]); usage {
		case usageLabel:
			if slices.Contains(memberLabels, col) {
				return q, fmt.Errorf("label column %q would replace the operator's own label", col)
			}
			q.Labels = append(q.Labels, col)
		case usageGauge, usageCounter:
			q.Values = append(q.Values, postgres.CustomValue{Column: col, Counter: usage == usageCounter})
		default:
			return q, fmt.Errorf("column %q: usage %q is none of label, gauge, counter", col, d.Columns[col])
		}
	}
	if len(q.Values) == 0 {
		return q, errors.New("no gauge or counter column")
	}
	return q, nil
}

// claimNames reserves the query's metric names, which must not be another
// query's ("a_b" and "b_c" make the same name as "a" and "b_b_c").
func claimNames(taken map[string]bool, q postgres.CustomQuery) error {
	for _, v := range q.Values {
		if n := customMetricName(q, v); taken[n] {
			return fmt.Errorf("metric %s is another query's", n)
		}
	}
	for _, v := range q.Values {
		taken[customMetricName(q, v)] = true
	}
	return nil
}

func customMetricName(q postgres.CustomQuery, v postgres.CustomValue) string {
	return namespace + "_custom_" + q.Name + "_" + v.Column
}

// customCollector serves the custom queries' rows of the cluster samples.
// Their names come from the ConfigMap, so it describes none (an unchecked
// collector); ParseCustomQueries made them valid and distinct, and the
// client made each query's label values distinct per member.
type customCollector struct{ clusters *clusterCollector }

func (customCollector) Describe(chan<- *prometheus.Desc) {}

func (c customCollector) Collect(ch chan<- prometheus.Metric) {
	c.clusters.mu.Lock()
	defer c.clusters.mu.Unlock()
	for _, cs := range c.clusters.clusters {
		for _, m := range cs.members {
			send(ch, m.customSeries)
		}
	}
}

// customMetrics are the series of a member's custom queries that
// answered (series.go builds them when a read brings new ones).
func customMetrics(k clusterKey, member string, rs []postgres.CustomResult) []prometheus.Metric {
	var b seriesBuilder
	for _, r := range rs {
		if r.Err == nil {
			b.custom([]string{k.namespace, k.name, member}, r)
		}
	}
	return b.out
}

func (b *seriesBuilder) custom(member []string, r postgres.CustomResult) {
	q := r.Query
	labels := append(slices.Clone(memberLabels), q.Labels...)
	for i, v := range q.Values {
		help := fmt.Sprintf("Column %s of the custom query %s.", v.Column, q.Name)
		if q.Help != "" {
			help = fmt.Sprintf("%s (Column %s.)", q.Help, v.Column)
		}
		d := prometheus.NewDesc(customMetricName(q, v), help, labels, nil)
		t := prometheus.GaugeValue
		if v.Counter {
			t = prometheus.CounterValue
		}
		for _, row := range r.Rows {
			// The client refuses what NewConstMetric would (labels not UTF-8).
			b.add(d, t, row.Values[i], append(slices.Clone(member), row.Labels...)...)
		}
	}
}
