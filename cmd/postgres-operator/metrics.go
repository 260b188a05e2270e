package main

import (
	"context"
	"net/http"

	"postgres-operator.dev/postgres-operator/pkg/cluster"
	"postgres-operator.dev/postgres-operator/pkg/metrics"
)

// startMetrics serves the operator's metrics on --metrics-addr, on every
// replica (a standby shows that it is up and not leading). It returns what
// the cluster actors report to: nil when metrics are off, so the actors
// measure nothing.
func startMetrics(ctx context.Context, o *options) (*metrics.Metrics, cluster.Metrics) {
	if o.metricsAddr == "" {
		return nil, nil
	}
	m := metrics.New()
	m.RegisterClientGo() // before the workqueues are made (operate)
	go listenAndServe(ctx, "metrics", o.metricsAddr, metricsMux(m))
	return m, clusterMetrics{m}
}

func metricsMux(m *metrics.Metrics) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	return mux
}

// clusterMetrics hands the actors' measurements to pkg/metrics, which
// knows nothing of pkg/cluster.
type clusterMetrics struct{ *metrics.Metrics }

var _ cluster.Metrics = clusterMetrics{}

func (m clusterMetrics) ObserveCluster(namespace, name string, s cluster.Sample) {
	out := metrics.ClusterSample{Ready: s.Ready, Phase: s.Phase, Members: make([]metrics.MemberSample, len(s.Members))}
	for i, ms := range s.Members {
		out.Members[i] = metrics.MemberSample{Name: ms.Name, Up: ms.Up, Role: ms.Role, Timeline: ms.Timeline,
			LagBytes: ms.LagBytes, LagKnown: ms.LagKnown, Stats: ms.Stats, Custom: ms.Custom}
	}
	if a := s.Archive; a != nil {
		out.Archive = &metrics.ArchiveSample{LastArchivedTime: a.LastArchivedTime, ArchivedCount: a.ArchivedCount,
			FailedCount: a.FailedCount, Pending: a.Pending, Dropped: a.Dropped}
	}
	m.Metrics.ObserveCluster(namespace, name, out)
}
