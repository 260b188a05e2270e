package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// ReasonReconcileError is the Event reason for a failed reconcile pass.
const ReasonReconcileError = "ReconcileError"

// reportBufferSize absorbs a burst of reports, e.g. many clusters failing at
// once during an API outage, without ever blocking a runner.
const reportBufferSize = 1024

// runnerReport is one message from a runner's report func.
type runnerReport struct {
	key   cache.ObjectName
	entry *entry // the reporting runner, to ignore stopped predecessors
	err   error
}

// reporter returns the report func handed to key's runner. It never blocks:
// it records the failing state on the entry (an atomic store), then tries a
// non-blocking send for the side effects (Event, requeue, Forget).
//
// Dropping the message when the buffer is full is safe because the state that
// matters is already on the entry:
//   - a dropped error loses one Event and one immediate requeue; the runner's
//     own timer retries the pass anyway, and the next sync of the key sees the
//     failing state and enters the backoff loop;
//   - a dropped recovery loses one Forget; the next successful sync of the key
//     (it is no longer failing) calls Forget itself.
func (c *Controller) reporter(ctx context.Context, key cache.ObjectName, e *entry) func(error) {
	logger := klog.FromContext(ctx)
	return func(err error) {
		e.setReport(err)
		select {
		case c.reports <- runnerReport{key: key, entry: e, err: err}:
		default:
			logger.V(2).Info("Dropped runner report: buffer full; failing state kept, runner retries on its timer", "err", err)
		}
	}
}

// consumeReports turns runner reports into Events and queue actions until ctx
// is done.
func (c *Controller) consumeReports(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-c.reports:
			c.handleReport(ctx, r)
		}
	}
}

func (c *Controller) handleReport(ctx context.Context, r runnerReport) {
	if !c.runners.isCurrent(r.key, r.entry) {
		return // a stopped runner's last words; its cluster is gone or replaced
	}
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "cluster", klog.KRef(r.key.Namespace, r.key.Name))
	if r.err == nil {
		logger.Info("Cluster reconcile recovered")
		c.queue.Forget(r.key)
		return
	}
	logger.Info("Cluster reconcile failed", "err", r.err)
	c.warn(klog.NewContext(ctx, logger), r)
	c.queue.AddRateLimited(r.key)
}

// warn records a Warning Event on the cluster, unless it is already gone.
func (c *Controller) warn(ctx context.Context, r runnerReport) {
	pgc, err := c.getCluster(r.key)
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "Cannot read PostgresCluster for a Warning Event")
		return
	}
	c.recorder.Event(pgc, corev1.EventTypeWarning, ReasonReconcileError, r.err.Error())
}
