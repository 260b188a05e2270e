package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

var (
	// errRunnerFailing: the cluster's runner reported a failed pass and has not
	// recovered yet. Returning it makes the worker retry the key with
	// exponential backoff; each retry's Update triggers another pass.
	errRunnerFailing = errors.New("cluster runner is failing")
	// errRunnerStopping: a runner for this key was cancelled but has not
	// returned within StopTimeout; retry rather than start a second one.
	errRunnerStopping = errors.New("cluster runner is still stopping")
)

// syncHandler makes the registry match the lister for one key: a live cluster
// has a runner holding its latest copy; a missing or deleting one has none.
// Missing means deleted, or not this operator's: another shard's (its
// labels left the informer's --cluster-selector, which the watch reports
// as a deletion). Stopping a runner only cancels its goroutine and touches
// no object, so a cluster that moved keeps running for its new shard.
func (c *Controller) syncHandler(ctx context.Context, key cache.ObjectName) error {
	pgc, err := c.getCluster(key)
	switch {
	case apierrors.IsNotFound(err):
		return c.stopRunner(ctx, key, "not in the cache: deleted, or another shard's")
	case err != nil:
		return fmt.Errorf("get PostgresCluster %s: %w", key, err)
	case pgc.DeletionTimestamp != nil:
		// Children go away through ownerReference garbage collection; there is
		// no finalizer, so the runner has nothing left to do.
		return c.stopRunner(ctx, key, "being deleted")
	}
	return c.updateRunner(ctx, key, pgc)
}

// getCluster reads key from the lister serving its namespace. A namespace we
// do not watch reads as NotFound: such a cluster is not ours to run.
func (c *Controller) getCluster(key cache.ObjectName) (*v1alpha1.PostgresCluster, error) {
	lister, ok := c.listers[key.Namespace]
	if !ok {
		lister, ok = c.listers[""]
	}
	if !ok {
		return nil, apierrors.NewNotFound(v1alpha1.Resource("postgresclusters"), key.Name)
	}
	return lister.PostgresClusters(key.Namespace).Get(key.Name)
}

// updateRunner hands a copy of pgc to key's runner, starting one if needed.
// Lister objects are shared with the cache, hence the copies.
func (c *Controller) updateRunner(ctx context.Context, key cache.ObjectName, pgc *v1alpha1.PostgresCluster) error {
	e := c.runners.get(key)
	if e == nil {
		var err error
		if e, err = c.startRunner(ctx, key, pgc); err != nil {
			return err
		}
	}
	if e.stopping.Load() {
		return errRunnerStopping
	}
	e.update(pgc.DeepCopy())
	if err := e.failing(); err != nil {
		return fmt.Errorf("%w: %w", errRunnerFailing, err)
	}
	return nil
}

func (c *Controller) startRunner(ctx context.Context, key cache.ObjectName, pgc *v1alpha1.PostgresCluster) (*entry, error) {
	e, err := c.runners.start(ctx, key, pgc.DeepCopy(), func(e *entry, pgc *v1alpha1.PostgresCluster) Runner {
		return c.newRunner(key, pgc, c.reporter(ctx, key, e))
	})
	if err != nil {
		return nil, fmt.Errorf("start runner: %w", err)
	}
	klog.FromContext(ctx).Info("Started cluster runner")
	return e, nil
}

// stopRunner cancels key's runner and waits for its Run to return, so a
// re-created cluster of the same name never has two runners at once. The wait
// is bounded: a stuck runner costs a retry, not a worker.
func (c *Controller) stopRunner(ctx context.Context, key cache.ObjectName, reason string) error {
	done := c.runners.stop(key)
	if done == nil {
		return nil
	}
	logger := klog.FromContext(ctx)
	logger.Info("Stopping cluster runner", "reason", reason)

	timer := time.NewTimer(c.opts.StopTimeout)
	defer timer.Stop()
	select {
	case <-done:
		logger.Info("Stopped cluster runner")
		return nil
	case <-timer.C:
		return fmt.Errorf("%w after %s", errRunnerStopping, c.opts.StopTimeout)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
