// Package metrics holds the operator's Prometheus registry and the metrics
// it serves on --metrics-addr: the operator's own (reconcile passes,
// actions, failovers, switchovers, leadership), client-go's (workqueues and
// API requests) and PostgreSQL's, as the cluster actors observe it without
// an agent in the pods (clusters.go; pgstats.go and custom.go for the
// members' statistics and the custom queries).
//
// Nothing here knows pkg/cluster: cmd/postgres-operator hands the actors'
// measurements over.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes the operator's own metric names.
const namespace = "postgres_operator"

// Metrics is the operator's registry and every metric registered in it.
// Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	*operatorMetrics
	clusters *clusterCollector
	*statsErrors
	queues   *queueProvider
	requests *requestMetrics
}

// New builds a registry holding the Go runtime and process metrics and the
// operator's. It touches no global state: see RegisterClientGo.
func New() *Metrics {
	m := &Metrics{
		reg:             prometheus.NewRegistry(),
		operatorMetrics: newOperatorMetrics(),
		clusters:        newClusterCollector(),
		statsErrors:     newStatsErrors(),
		queues:          newQueueProvider(),
		requests:        newRequestMetrics(),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		newProcessCollector(), // process.go
		m.clusters,
		statsCollector{m.clusters},  // pgstats.go
		customCollector{m.clusters}, // custom.go
	)
	m.operatorMetrics.register(m.reg)
	m.statsErrors.register(m.reg)
	m.queues.register(m.reg)
	m.requests.register(m.reg)
	return m
}

// Gatherer is the registry, for tests and other handlers.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves the registry in the Prometheus text format (or what the
// scraper negotiates), gzipped when the scraper asks (gzip.go).
func (m *Metrics) Handler() http.Handler {
	return withGzip(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: gzipWriters,
		DisableCompression:  true,
	}))
}
