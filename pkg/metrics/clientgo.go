package metrics

import (
	"context"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientmetrics "k8s.io/client-go/tools/metrics"
	"k8s.io/client-go/util/workqueue"
)

// client-go's metrics keep the names Kubernetes components and
// controller-runtime give them, so existing dashboards read them as they are.

// RegisterClientGo makes client-go report to m: every workqueue created
// afterwards (each named by its config's Name), and every request of its
// REST clients. client-go keeps a single process-wide provider and takes
// only the first registration: call it once, before the queues exist.
func (m *Metrics) RegisterClientGo() {
	workqueue.SetProvider(m.queues)
	clientmetrics.Register(clientmetrics.RegisterOpts{
		RequestResult:  requestResult{m.requests},
		RequestLatency: requestLatency{m.requests},
	})
}

// WorkqueueProvider is the provider RegisterClientGo installs, for a queue
// that names its own (tests).
func (m *Metrics) WorkqueueProvider() workqueue.MetricsProvider { return m.queues }

// queueProvider implements workqueue.MetricsProvider: every queue of one
// name shares that name's series.
type queueProvider struct {
	adds, retries                   *prometheus.CounterVec
	depthGauge, unfinished, longest *prometheus.GaugeVec
	latency, workDuration           *prometheus.HistogramVec
}

func newQueueProvider() *queueProvider {
	name := []string{"name"}
	// The buckets of k8s.io/component-base: 10ns to 10s.
	buckets := prometheus.ExponentialBuckets(10e-9, 10, 10)
	return &queueProvider{
		depthGauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: "workqueue", Name: "depth",
			Help: "Current depth of the workqueue."}, name),
		adds: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: "workqueue", Name: "adds_total",
			Help: "Adds handled by the workqueue."}, name),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: "workqueue", Name: "queue_duration_seconds",
			Help: "How long an item stays in the workqueue before being requested.", Buckets: buckets}, name),
		workDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: "workqueue", Name: "work_duration_seconds",
			Help: "How long processing an item from the workqueue takes.", Buckets: buckets}, name),
		unfinished: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: "workqueue", Name: "unfinished_work_seconds",
			Help: "Seconds of work in progress not yet observed by work_duration; large values mean stuck workers."}, name),
		longest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: "workqueue", Name: "longest_running_processor_seconds",
			Help: "How long the longest running processor of the workqueue has been running."}, name),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: "workqueue", Name: "retries_total",
			Help: "Retries handled by the workqueue."}, name),
	}
}

func (p *queueProvider) register(reg prometheus.Registerer) {
	reg.MustRegister(p.depthGauge, p.adds, p.latency, p.workDuration, p.unfinished, p.longest, p.retries)
}

func (p *queueProvider) NewDepthMetric(name string) workqueue.GaugeMetric {
	return p.depthGauge.WithLabelValues(name)
}

func (p *queueProvider) NewAddsMetric(name string) workqueue.CounterMetric {
	return p.adds.WithLabelValues(name)
}

func (p *queueProvider) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return p.latency.WithLabelValues(name)
}

func (p *queueProvider) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return p.workDuration.WithLabelValues(name)
}

func (p *queueProvider) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.unfinished.WithLabelValues(name)
}

func (p *queueProvider) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.longest.WithLabelValues(name)
}

func (p *queueProvider) NewRetriesMetric(name string) workqueue.CounterMetric {
	return p.retries.WithLabelValues(name)
}

// requestMetrics are the REST clients' requests to the API server.
type requestMetrics struct {
	results *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newRequestMetrics() *requestMetrics {
	return &requestMetrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: "rest_client", Name: "requests_total",
			Help: "Requests to the Kubernetes API, by status code, method and host."}, []string{"code", "method", "host"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: "rest_client", Name: "request_duration_seconds",
			Help:    "Latency of requests to the Kubernetes API, by verb and host.",
			Buckets: []float64{0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60}}, []string{"verb", "host"}),
	}
}

func (r *requestMetrics) register(reg prometheus.Registerer) { reg.MustRegister(r.results, r.latency) }

// requestResult adapts to client-go's metrics.ResultMetric.
type requestResult struct{ *requestMetrics }

func (r requestResult) Increment(_ context.Context, code, method, host string) {
	r.results.WithLabelValues(code, method, host).Inc()
}

// requestLatency adapts to client-go's metrics.LatencyMetric. The URL's
// path is left out: object names in it would make the series unbounded.
type requestLatency struct{ *requestMetrics }

func (r requestLatency) Observe(_ context.Context, verb string, u url.URL, latency time.Duration) {
	r.latency.WithLabelValues(verb, u.Host).Observe(latency.Seconds())
}
