package metrics

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"k8s.io/client-go/util/workqueue"
)

// A queue built with the provider reports under its name. (The operator
// installs it process-wide with RegisterClientGo, which only the first
// call does: tests pass it per queue.)
func TestWorkqueueMetrics(t *testing.T) {
	m := New()
	q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "postgrescluster", MetricsProvider: m.WorkqueueProvider()})
	defer q.ShutDown()

	q.Add("db/a")
	q.Add("db/b")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.queues.depthGauge.WithLabelValues("postgrescluster")))
	item, _ := q.Get()
	q.Done(item)
	q.AddRateLimited(item)

	assert.Equal(t, 2.0, testutil.ToFloat64(m.queues.adds.WithLabelValues("postgrescluster")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.queues.depthGauge.WithLabelValues("postgrescluster")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.queues.retries.WithLabelValues("postgrescluster")))
	assert.Equal(t, 1, testutil.CollectAndCount(m.queues.workDuration))
	assert.Equal(t, 1, testutil.CollectAndCount(m.queues.latency))
}

func TestRequestMetrics(t *testing.T) {
	m := New()
	ctx := context.Background()
	result, latency := requestResult{m.requests}, requestLatency{m.requests}
	result.Increment(ctx, "200", "GET", "10.96.0.1:443")
	result.Increment(ctx, "200", "GET", "10.96.0.1:443")
	result.Increment(ctx, "409", "PUT", "10.96.0.1:443")
	u, _ := url.Parse("https://10.96.0.1:443/api/v1/namespaces/db/pods/a-1")
	latency.Observe(ctx, "PATCH", *u, 30*time.Millisecond)

	assert.Equal(t, 2.0, testutil.ToFloat64(m.requests.results.WithLabelValues("200", "GET", "10.96.0.1:443")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.requests.results.WithLabelValues("409", "PUT", "10.96.0.1:443")))
	assert.Equal(t, 1, testutil.CollectAndCount(m.requests.latency), "by verb and host: no object names in the labels")
}
