package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// handoverBuckets span a change of primary: about a second for a crash
// the kubelet reports, up to minutes when a hung primary is waited out or a
// switchover's old primary takes its whole grace period.
var handoverBuckets = []float64{0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 120, 300}

// operatorMetrics are what the cluster actors and the leader election
// report about the operator's own work.
type operatorMetrics struct {
	passes             *prometheus.CounterVec
	passDuration       *prometheus.HistogramVec
	actions            *prometheus.CounterVec
	failovers          *prometheus.CounterVec
	switchovers        *prometheus.CounterVec
	failoverDuration   prometheus.Histogram
	switchoverDuration prometheus.Histogram
	leader             prometheus.Gauge
}

func newOperatorMetrics() *operatorMetrics {
	return &operatorMetrics{
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "reconcile_passes_total",
			Help: "Reconcile passes of the cluster actors, by outcome (ok, error, panic).",
		}, []string{"outcome"}),
		passDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "reconcile_pass_duration_seconds",
			Help:    "Duration of the cluster actors' reconcile passes, by outcome.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"outcome"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "actions_total",
			Help: "Actions the cluster actors applied, by kind (the reason of their Events).",
		}, []string{"kind"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "failovers_total",
			Help: "Failovers completed (a replica promoted and routed to) since this operator started, per cluster.",
		}, []string{"namespace", "cluster"}),
		switchovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "switchovers_total",
			Help: "Switchovers completed since this operator started, per cluster.",
		}, []string{"namespace", "cluster"}),
		failoverDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "failover_duration_seconds",
			Help:    "Time from the decision to fail over (the old primary fenced) to the new primary promoted and routed to.",
			Buckets: handoverBuckets,
		}),
		switchoverDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "switchover_duration_seconds",
			Help:    "Time from the decision to switch over to the new primary promoted and routed to.",
			Buckets: handoverBuckets,
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "leader",
			Help: "1 while this replica of the operator holds the leader election Lease (and so acts), else 0.",
		}),
	}
}

func (m *operatorMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(m.passes, m.passDuration, m.actions, m.failovers, m.switchovers,
		m.failoverDuration, m.switchoverDuration, m.leader)
}

// PassDone records one reconcile pass.
func (m *operatorMetrics) PassDone(outcome string, d time.Duration) {
	m.passes.WithLabelValues(outcome).Inc()
	m.passDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// ActionApplied counts one applied action.
func (m *operatorMetrics) ActionApplied(kind string) { m.actions.WithLabelValues(kind).Inc() }

// FailoverDone counts a failover of a cluster and, when d > 0, records how
// long it took (d is 0 when an earlier operator process made the decision).
func (m *operatorMetrics) FailoverDone(ns, cluster string, d time.Duration) {
	m.failovers.WithLabelValues(ns, cluster).Inc()
	if d > 0 {
		m.failoverDuration.Observe(d.Seconds())
	}
}

// SwitchoverDone is FailoverDone for a switchover.
func (m *operatorMetrics) SwitchoverDone(ns, cluster string, d time.Duration) {
	m.switchovers.WithLabelValues(ns, cluster).Inc()
	if d > 0 {
		m.switchoverDuration.Observe(d.Seconds())
	}
}

// SetLeader sets the leader gauge.
func (m *operatorMetrics) SetLeader(leading bool) {
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.Set(v)
}

// forget drops a deleted cluster's counters.
func (m *operatorMetrics) forget(ns, cluster string) {
	labels := prometheus.Labels{"namespace": ns, "cluster": cluster}
	m.failovers.Delete(labels)
	m.switchovers.Delete(labels)
}
