package controller

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	pgclient "postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned/typed/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/metrics"
)

// Options tunes the controller. Zero values take the defaults below.
type Options struct {
	// Workers is the number of concurrent syncHandler workers (default 2). A
	// sync is a lister read plus a non-blocking Update, so few are needed.
	Workers int
	// BaseDelay and MaxDelay bound the per-key exponential retry backoff
	// (defaults 500ms and 60s).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// RetryQPS and RetryBurst cap all rate-limited retries together (defaults
	// 10 and 100), so an API outage that fails thousands of clusters at once
	// does not turn into a retry storm.
	RetryQPS   float64
	RetryBurst int
	// StopTimeout bounds the wait for a runner to return after its context is
	// cancelled, per deleted cluster and for all runners at shutdown
	// (default 30s).
	StopTimeout time.Duration
	// RestartBaseDelay and RestartMaxDelay bound the wait before a runner
	// that panicked is restarted: the base after one panic, doubling with
	// each panic in a row, up to the max (defaults 1s and 5m).
	RestartBaseDelay time.Duration
	RestartMaxDelay  time.Duration
	// Clusters writes the Degraded condition of a cluster whose actor
	// panicked (restarts.go); nil: the Warning Event alone tells.
	Clusters pgclient.PostgresClustersGetter
}

const (
	defaultWorkers     = 2
	defaultBaseDelay   = 500 * time.Millisecond
	defaultMaxDelay    = 60 * time.Second
	defaultRetryQPS    = 10
	defaultRetryBurst  = 100
	defaultStopTimeout = 30 * time.Second

	defaultRestartBaseDelay = time.Second
	defaultRestartMaxDelay  = 5 * time.Minute
)

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = defaultWorkers
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = defaultBaseDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = defaultMaxDelay
	}
	if o.RetryQPS <= 0 {
		o.RetryQPS = defaultRetryQPS
	}
	if o.RetryBurst <= 0 {
		o.RetryBurst = defaultRetryBurst
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = defaultStopTimeout
	}
	if o.RestartBaseDelay <= 0 {
		o.RestartBaseDelay = defaultRestartBaseDelay
	}
	if o.RestartMaxDelay <= 0 {
		o.RestartMaxDelay = defaultRestartMaxDelay
	}
	o.RestartMaxDelay = max(o.RestartMaxDelay, o.RestartBaseDelay)
	return o
}

// newQueue builds the workqueue: a key's retry delay is the larger of its own
// exponential backoff and the shared token bucket's.
func newQueue(o Options) workqueue.TypedRateLimitingInterface[cache.ObjectName] {
	limiter := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](o.BaseDelay, o.MaxDelay),
		&workqueue.TypedBucketRateLimiter[cache.ObjectName]{
			Limiter: rate.NewLimiter(rate.Limit(o.RetryQPS), o.RetryBurst),
		},
	)
	return workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "postgrescluster",
			Clock: metrics.QueueClock(clock.RealClock{})}) // no 500 ms ticker
}
