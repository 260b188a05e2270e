package controller

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// A bug that panics in one cluster's actor must cost that cluster a
// restart of its actor, not every cluster its operator: the registry
// recovers the panic, the controller reports it, and a fresh runner
// (fresh in-memory state, the newest object) takes over after a delay
// that doubles with each panic in a row, so a panic on every pass never
// turns into a hot loop.

// ReasonActorPanicked is the Warning Event's reason when a cluster's actor
// panicked and is restarted.
const ReasonActorPanicked = "ActorPanicked"

// maxPanicMessage bounds the panic value quoted in the Event; the whole
// value and the stack go to the log.
const maxPanicMessage = 512

// runnerPanic is a recovered panic with the stack of the goroutine that
// raised it.
type runnerPanic struct {
	value any
	stack []byte
}

// restartPolicy says how a runner that panicked is reported and restarted.
type restartPolicy struct {
	baseDelay, maxDelay time.Duration
	onPanic             func(ctx context.Context, key cache.ObjectName, p *runnerPanic, delay time.Duration)
}

// delay is baseDelay doubled for each earlier panic in a row, at most maxDelay.
func (p restartPolicy) delay(inARow int) time.Duration {
	d := p.baseDelay
	for range inARow {
		if d >= p.maxDelay/2 {
			return p.maxDelay
		}
		d *= 2
	}
	return min(d, p.maxDelay)
}

// runRecovering runs r until it returns or panics; a panic is returned.
func runRecovering(ctx context.Context, r Runner) (p *runnerPanic) {
	defer func() {
		if v := recover(); v != nil {
			p = &runnerPanic{value: v, stack: debug.Stack()}
		}
	}()
	r.Run(ctx)
	return nil
}

// sleep waits for d, or returns false as soon as ctx ends.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runnerPanicked logs a recovered panic with its stack and tells the user
// with a Warning Event on the cluster, without the stack.
func (c *Controller) runnerPanicked(ctx context.Context, key cache.ObjectName, p *runnerPanic, delay time.Duration) {
	logger := klog.FromContext(ctx)
	logger.Error(fmt.Errorf("panic: %v", p.value), "Cluster actor panicked; restarting it",
		"restartIn", delay, "stack", string(p.stack))
	msg := fmt.Sprintf("the operator's actor for this cluster panicked (%s); it restarts in %s with fresh state; "+
		"the operator's log has the stack", truncate(fmt.Sprint(p.value), maxPanicMessage), delay)
	pgc, err := c.getCluster(key)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		logger.Error(err, "Cannot read PostgresCluster for a Warning Event")
	default:
		c.recorder.Event(pgc, corev1.EventTypeWarning, ReasonActorPanicked, msg)
		c.markDegraded(ctx, pgc, msg)
	}
}

// markDegraded sets Degraded=True with reason ActorPanicked, so the panic
// shows where users look (kubectl get, alerts on conditions) until the
// restarted actor's first pass recomputes the condition. Best effort: a
// conflict with that actor's own write leaves it to the actor.
func (c *Controller) markDegraded(ctx context.Context, pgc *v1alpha1.PostgresCluster, msg string) {
	if c.opts.Clusters == nil {
		return
	}
	pgc = pgc.DeepCopy()
	meta.SetStatusCondition(&pgc.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionDegraded,
		Status: metav1.ConditionTrue, Reason: ReasonActorPanicked, Message: msg, ObservedGeneration: pgc.Generation})
	_, err := c.opts.Clusters.PostgresClusters(pgc.Namespace).UpdateStatus(ctx, pgc, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Cannot set the Degraded condition after a panic")
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
