package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// A cluster's series are built when its actor observes something new, and
// a scrape only hands them over. Building them at every scrape cost most
// of a scrape's allocations: label pairs, sorted, for every series, though
// an idle cluster's change only when a member's statistics are read again
// (every --pg-stats-interval). A pass's sample is compared with the last
// one in three parts, each rebuilt on its own: the cluster's own series
// (clusterMetrics), and per member its statistics' and its custom
// queries', told apart by identity since every read makes new ones.
//
// The price is memory: some 600 bytes a series held between scrapes
// (about 40 KB for a cluster of 3 members with statistics), which a
// scrape used to allocate anew and hold all at once until it was served.

// clusterSeries is one cluster's latest sample and its series.
type clusterSeries struct {
	sample  ClusterSample
	cluster []prometheus.Metric // clusterMetrics
	members []memberSeries      // as sample.Members
}

// memberSeries are one member's statistics and custom query series, with
// what they were built from.
type memberSeries struct {
	name         string
	stats        *postgres.MemberStats
	custom       []postgres.CustomResult
	statsSeries  []prometheus.Metric
	customSeries []prometheus.Metric
}

// newClusterSeries builds the series of s, reusing those of last (nil for
// a cluster first seen) that s did not change.
func newClusterSeries(k clusterKey, s ClusterSample, last *clusterSeries) *clusterSeries {
	cs := &clusterSeries{sample: s, members: make([]memberSeries, len(s.Members))}
	if last != nil && sameClusterPart(last.sample, s) {
		cs.cluster = last.cluster
	} else {
		cs.cluster = clusterMetrics(k, s)
	}
	for i, m := range s.Members {
		cs.members[i] = last.member(m.Name).update(k, m)
	}
	return cs
}

// member is the last series of the member of that name; empty if none.
func (cs *clusterSeries) member(name string) memberSeries {
	if cs != nil {
		for _, m := range cs.members {
			if m.name == name {
				return m
			}
		}
	}
	return memberSeries{}
}

// update returns the member's series for m, rebuilding what changed.
func (ms memberSeries) update(k clusterKey, m MemberSample) memberSeries {
	if ms.name != m.Name {
		ms = memberSeries{name: m.Name}
	}
	if ms.stats != m.Stats {
		ms.stats, ms.statsSeries = m.Stats, statsMetrics(k, m.Name, m.Stats)
	}
	if !sameCustom(ms.custom, m.Custom) {
		ms.custom, ms.customSeries = m.Custom, customMetrics(k, m.Name, m.Custom)
	}
	return ms
}

// sameCustom: the same results, not equal ones (a read makes new ones).
func sameCustom(a, b []postgres.CustomResult) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// sameClusterPart: a and b make the same clusterMetrics. An archive time
// equal in another form (location, monotonic reading) only costs a
// rebuild.
func sameClusterPart(a, b ClusterSample) bool {
	if a.Ready != b.Ready || a.Phase != b.Phase || len(a.Members) != len(b.Members) ||
		(a.Archive == nil) != (b.Archive == nil) || a.Archive != nil && *a.Archive != *b.Archive {
		return false
	}
	for i, m := range a.Members {
		n := b.Members[i]
		if m.Name != n.Name || m.Up != n.Up || m.Role != n.Role || m.Timeline != n.Timeline ||
			m.LagBytes != n.LagBytes || m.LagKnown != n.LagKnown {
			return false
		}
	}
	return true
}

// seriesBuilder collects const metrics. One that cannot be made (a label
// value that is not UTF-8) is left out rather than failing the pass that
// observes it.
type seriesBuilder struct{ out []prometheus.Metric }

func (b *seriesBuilder) add(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	if m, err := prometheus.NewConstMetric(d, t, v, labels...); err == nil {
		b.out = append(b.out, m)
	}
}

func (b *seriesBuilder) gauge(d *prometheus.Desc, v float64, labels ...string) {
	b.add(d, prometheus.GaugeValue, v, labels...)
}

func (b *seriesBuilder) counter(d *prometheus.Desc, v float64, labels ...string) {
	b.add(d, prometheus.CounterValue, v, labels...)
}

// send hands series to a scrape.
func send(ch chan<- prometheus.Metric, ms []prometheus.Metric) {
	for _, m := range ms {
		ch <- m
	}
}
