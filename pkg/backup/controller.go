package backup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned"
	pginformers "postgres-operator.dev/postgres-operator/pkg/client/informers/externalversions/postgres/v1alpha1"
	pglisters "postgres-operator.dev/postgres-operator/pkg/client/listers/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/metrics"
)

// Informers are the shared informers of one namespace ("" = all). Jobs and
// Pods come from the kube factory filtered on ClusterLabel: the Jobs and
// their pods carry it.
type Informers struct {
	Namespace string
	Clusters  pginformers.PostgresClusterInformer
	Backups   pginformers.PostgresBackupInformer
	Jobs      batchinformers.JobInformer
	Pods      coreinformers.PodInformer
}

// Config is what the controller needs. Kube, Client, Recorder and
// Informers are required.
type Config struct {
	Kube      kubernetes.Interface
	Client    versioned.Interface
	Recorder  record.EventRecorder
	Informers []Informers
	// Clock defaults to the real one; tests step a fake one.
	Clock clock.WithTicker
	// ReadLog defaults to the pods/log API (the fake clientset's answers
	// "fake logs", hence the seam).
	ReadLog LogReader
	// Workers per queue (backups, schedules); default 2.
	Workers int
	// ClusterSelector is this operator's shard: it takes only the backups
	// of the PostgresClusters it selects (shard.go). nil: every cluster.
	// The Clusters informers must be filtered on it too.
	ClusterSelector labels.Selector
}

// Controller runs PostgresBackups as Jobs and schedules backups.
type Controller struct {
	kube     kubernetes.Interface
	client   versioned.Interface
	recorder record.EventRecorder
	clock    clock.WithTicker
	readLog  LogReader
	workers  int
	selector labels.Selector // nil: every cluster is this shard's

	listers map[string]listers // by namespace; "" serves all
	synced  []cache.InformerSynced

	backups   workqueue.TypedRateLimitingInterface[cache.ObjectName] // PostgresBackup keys
	schedules workqueue.TypedRateLimitingInterface[cache.ObjectName] // PostgresCluster keys

	// mu guards what the listers cannot tell yet. It is held across a Job's
	// creation, so two workers never start two Jobs for one cluster.
	mu      sync.Mutex
	started map[string]startedJob       // by cluster "ns/name": the last Job created
	waiting map[cache.ObjectName]waitAt // backups waiting on their cluster

	logger klog.Logger // for handlers, which get no context
}

type listers struct {
	clusters pglisters.PostgresClusterLister
	backups  pglisters.PostgresBackupLister
	jobs     batchlisters.JobLister
	pods     corelisters.PodLister
}

// New builds the controller and registers its handlers; call it before
// starting the informer factories.
func New(cfg Config) (*Controller, error) {
	if cfg.Kube == nil || cfg.Client == nil || cfg.Recorder == nil || len(cfg.Informers) == 0 {
		return nil, errors.New("backup: Kube, Client, Recorder and Informers are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.ReadLog == nil {
		cfg.ReadLog = APILogReader(cfg.Kube)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	c := &Controller{
		kube: cfg.Kube, client: cfg.Client, recorder: cfg.Recorder,
		clock: cfg.Clock, readLog: cfg.ReadLog, workers: cfg.Workers, selector: cfg.ClusterSelector,
		listers:   map[string]listers{},
		backups:   newQueue("postgresbackup", cfg.Clock),
		schedules: newQueue("backupschedule", cfg.Clock),
		started:   map[string]startedJob{},
		waiting:   map[cache.ObjectName]waitAt{},
		logger:    klog.Background().WithName("backup-controller"),
	}
	for _, inf := range cfg.Informers {
		if inf.Clusters == nil || inf.Backups == nil || inf.Jobs == nil || inf.Pods == nil {
			return nil, fmt.Errorf("backup: namespace %q: every informer must be set", inf.Namespace)
		}
		c.listers[inf.Namespace] = listers{
			clusters: inf.Clusters.Lister(), backups: inf.Backups.Lister(),
			jobs: inf.Jobs.Lister(), pods: inf.Pods.Lister(),
		}
		if err := c.addHandlers(inf); err != nil {
			return nil, fmt.Errorf("backup: namespace %q: %w", inf.Namespace, err)
		}
	}
	return c, nil
}

func newQueue(name string, clk clock.WithTicker) workqueue.TypedRateLimitingInterface[cache.ObjectName] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: name, Clock: metrics.QueueClock(clk)}) // no 500 ms ticker
}

// listersFor returns the listers serving namespace.
func (c *Controller) listersFor(namespace string) listers {
	if l, ok := c.listers[namespace]; ok {
		return l
	}
	return c.listers[metav1.NamespaceAll]
}

// Run waits for the caches and runs the workers until ctx is done.
func (c *Controller) Run(ctx context.Context) error {
	defer utilruntime.HandleCrashWithContext(ctx)
	defer c.backups.ShutDown()
	defer c.schedules.ShutDown()
	logger := klog.FromContext(ctx)
	logger.Info("Starting backup controller", "workers", c.workers)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return fmt.Errorf("backup: caches did not sync: %w", context.Cause(ctx))
	}
	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() { wait.UntilWithContext(ctx, c.worker(c.backups, "backup", c.syncBackup), time.Second) })
		wg.Go(func() { wait.UntilWithContext(ctx, c.worker(c.schedules, "cluster", c.syncSchedule), time.Second) })
	}
	<-ctx.Done()
	logger.Info("Shutting down backup controller")
	c.backups.ShutDown()
	c.schedules.ShutDown()
	wg.Wait()
	return nil
}

// syncFunc handles one key; after > 0 asks for another pass that much later.
type syncFunc func(ctx context.Context, key cache.ObjectName) (after time.Duration, err error)

// worker processes keys of q until it shuts down.
func (c *Controller) worker(q workqueue.TypedRateLimitingInterface[cache.ObjectName], kind string, sync syncFunc) func(context.Context) {
	return func(ctx context.Context) {
		for c.processNext(ctx, q, kind, sync) {
		}
	}
}

// processNext syncs one key. A failed sync is retried with backoff; a
// conflict (a stale cache) quietly so. It returns false once q shuts down.
func (c *Controller) processNext(ctx context.Context, q workqueue.TypedRateLimitingInterface[cache.ObjectName], kind string, sync syncFunc) bool {
	key, shutdown := q.Get()
	if shutdown {
		return false
	}
	defer q.Done(key)
	logger := klog.LoggerWithValues(klog.FromContext(ctx), kind, klog.KRef(key.Namespace, key.Name))
	after, err := sync(klog.NewContext(ctx, logger), key)
	switch {
	case err == nil:
		q.Forget(key)
		if after > 0 {
			q.AddAfter(key, after)
		}
	case apierrors.IsConflict(err):
		logger.V(2).Info("Stale object, retrying", "err", err)
		q.AddRateLimited(key)
	default:
		utilruntime.HandleErrorWithContext(ctx, err, "Sync failed, requeuing", kind, klog.KRef(key.Namespace, key.Name))
		q.AddRateLimited(key)
	}
	return true
}
