// Package controller turns informer events into calls on per-cluster runners:
// informers → rate-limited workqueue → syncHandler → registry of runners.
//
// It knows nothing about PostgreSQL. A runner (implemented in pkg/cluster) owns
// everything about one PostgresCluster; this package only decides when a runner
// exists, hands it the latest object, and retries with backoff while the runner
// reports failures.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	policyinformers "k8s.io/client-go/informers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	pginformers "postgres-operator.dev/postgres-operator/pkg/client/informers/externalversions/postgres/v1alpha1"
	pglisters "postgres-operator.dev/postgres-operator/pkg/client/listers/postgres/v1alpha1"
)

// ClusterLabel is set on every object the operator creates for a cluster; its
// value is the PostgresCluster's name. Kube informers are filtered on it.
const ClusterLabel = v1alpha1.ClusterLabel

// Runner is one PostgresCluster's actor (implemented by pkg/cluster). The
// registry, not a constructor, starts its goroutine.
type Runner interface {
	// Run blocks until ctx is cancelled.
	Run(ctx context.Context)
	// Update is non-blocking, latest wins; it also triggers an immediate
	// reconcile pass.
	Update(pgc *v1alpha1.PostgresCluster)
}

// NewRunnerFunc builds (but does not start) a runner. report is how the runner
// tells the controller a pass failed (err != nil) or recovered (err == nil,
// sent only on the failing→ok transition). report never blocks.
type NewRunnerFunc func(key cache.ObjectName, pgc *v1alpha1.PostgresCluster, report func(error)) Runner

// NamespaceInformers are the shared informers for one namespace ("" = all
// namespaces). The kube informers must already be restricted to objects that
// carry ClusterLabel.
type NamespaceInformers struct {
	Namespace  string
	Clusters   pginformers.PostgresClusterInformer
	Pods       coreinformers.PodInformer
	PVCs       coreinformers.PersistentVolumeClaimInformer
	Services   coreinformers.ServiceInformer
	Secrets    coreinformers.SecretInformer
	ConfigMaps coreinformers.ConfigMapInformer
	PDBs       policyinformers.PodDisruptionBudgetInformer
}

// Controller routes PostgresCluster and child events to per-cluster runners.
type Controller struct {
	recorder  record.EventRecorder
	newRunner NewRunnerFunc
	opts      Options

	// listers by namespace; the key "" serves every namespace.
	listers map[string]pglisters.PostgresClusterLister
	// synced completes once every handler has seen its informer's initial list.
	synced []cache.DoneChecker
	// pods are the pod informers, one per namespace (nodes.go indexes them).
	pods []cache.SharedIndexInformer

	queue   workqueue.TypedRateLimitingInterface[cache.ObjectName]
	runners *registry
	reports chan runnerReport

	// logger is for event handlers, which get no context from client-go.
	logger klog.Logger
}

// New builds a Controller and registers its event handlers. Call it before
// starting the informer factories: asking for each Informer() is what registers
// it with its factory.
func New(recorder record.EventRecorder, informers []NamespaceInformers, newRunner NewRunnerFunc, opts Options) (*Controller, error) {
	if recorder == nil || newRunner == nil {
		return nil, errors.New("controller: recorder and newRunner are required")
	}
	if err := validateInformers(informers); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	c := &Controller{
		recorder:  recorder,
		newRunner: newRunner,
		opts:      opts,
		listers:   make(map[string]pglisters.PostgresClusterLister, len(informers)),
		queue:     newQueue(opts),
		reports:   make(chan runnerReport, reportBufferSize),
		logger:    klog.Background().WithName("postgrescluster-controller"),
	}
	c.runners = newRegistry(restartPolicy{
		baseDelay: opts.RestartBaseDelay, maxDelay: opts.RestartMaxDelay, onPanic: c.runnerPanicked,
	})
	for _, inf := range informers {
		c.listers[inf.Namespace] = inf.Clusters.Lister()
		c.pods = append(c.pods, inf.Pods.Informer())
		synced, err := c.addHandlers(inf)
		if err != nil {
			c.queue.ShutDown()
			return nil, fmt.Errorf("controller: namespace %q: %w", inf.Namespace, err)
		}
		c.synced = append(c.synced, synced...)
	}
	return c, nil
}

// validateInformers rejects wiring mistakes early: every informer set, no
// namespace twice, and "" (all namespaces) alone since it would overlap.
func validateInformers(informers []NamespaceInformers) error {
	if len(informers) == 0 {
		return errors.New("controller: at least one NamespaceInformers is required")
	}
	seen := make(map[string]bool, len(informers))
	for _, inf := range informers {
		if inf.Clusters == nil || inf.Pods == nil || inf.PVCs == nil || inf.Services == nil ||
			inf.Secrets == nil || inf.ConfigMaps == nil || inf.PDBs == nil {
			return fmt.Errorf("controller: namespace %q: every informer must be set", inf.Namespace)
		}
		if seen[inf.Namespace] {
			return fmt.Errorf("controller: namespace %q listed twice", inf.Namespace)
		}
		seen[inf.Namespace] = true
	}
	if seen[metav1.NamespaceAll] && len(informers) > 1 {
		return errors.New(`controller: namespace "" (all) cannot be combined with other namespaces`)
	}
	return nil
}

// Run waits for the caches, runs the workers and the report consumer until ctx
// is done, then stops every runner. It returns an error if the caches never
// synced or a runner did not return within Options.StopTimeout. Call it once.
func (c *Controller) Run(ctx context.Context) error {
	defer utilruntime.HandleCrashWithContext(ctx)
	// Whatever path we leave by, a shut-down queue releases blocked workers.
	defer c.queue.ShutDown()
	logger := klog.FromContext(ctx)

	logger.Info("Starting PostgresCluster controller", "workers", c.opts.Workers)
	if !cache.WaitFor(ctx, "PostgresCluster controller caches", c.synced...) {
		return fmt.Errorf("controller: caches did not sync: %w", context.Cause(ctx))
	}

	var wg sync.WaitGroup
	wg.Go(func() { c.consumeReports(ctx) })
	for range c.opts.Workers {
		wg.Go(func() { wait.UntilWithContext(ctx, c.runWorker, time.Second) })
	}
	<-ctx.Done()

	logger.Info("Shutting down PostgresCluster controller")
	// ShutDown (not drain): in-flight syncs finish, queued keys are dropped;
	// a restarted operator re-lists everything anyway.
	c.queue.ShutDown()
	// Workers first, so none starts a runner after stopAll has begun.
	wg.Wait()

	// ctx is done; the stop wait needs its own deadline, keeping ctx's values.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.StopTimeout)
	defer cancel()
	if err := c.runners.stopAll(stopCtx); err != nil {
		return fmt.Errorf("controller: stopping runners: %w", err)
	}
	logger.Info("PostgresCluster controller stopped")
	return nil
}

// runWorker processes keys until the queue shuts down.
func (c *Controller) runWorker(ctx context.Context) {
	for c.processNextItem(ctx) {
	}
}

// processNextItem syncs one key: success forgets its backoff, failure requeues
// it rate-limited. It returns false once the queue is shut down.
func (c *Controller) processNextItem(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)

	logger := klog.LoggerWithValues(klog.FromContext(ctx), "cluster", klog.KRef(key.Namespace, key.Name))
	ctx = klog.NewContext(ctx, logger)

	err := c.syncHandler(ctx, key)
	switch {
	case err == nil:
		c.queue.Forget(key)
		return true
	case errors.Is(err, errRunnerFailing):
		// Expected while the runner fails; its report already produced an Event.
		logger.V(2).Info("Runner failing, retrying with backoff", "err", err)
	default:
		utilruntime.HandleErrorWithContext(ctx, err, "Sync failed, requeuing")
	}
	c.queue.AddRateLimited(key)
	return true
}
