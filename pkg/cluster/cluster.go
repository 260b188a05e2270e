// Package cluster is the per-PostgresCluster actor: one goroutine per
// cluster that observes the cluster's pods, volumes and PostgreSQL
// instances, plans one action, applies it and writes status.
package cluster

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// maxQuickPasses bounds how many passes may follow each other at once
// when actions keep succeeding; past it the cluster waits for the timer or
// an event, so a plan that never converges cannot spin.
const maxQuickPasses = 20

// Cluster is the actor of one PostgresCluster. Only its own goroutine (Run)
// touches its state; Update is the one method other goroutines call.
type Cluster struct {
	cfg    *Config
	key    cache.ObjectName
	report func(error)

	mu     sync.Mutex
	latest *v1alpha1.PostgresCluster // the newest spec handed over by Update
	wake   chan struct{}             // capacity 1: a pending "run a pass now"

	// Owned by Run's goroutine.
	failing bool              // the last pass returned an error
	applied map[string]string // SQL changes already made, to skip repeating them
	// paramsChangedAt is when ALTER SYSTEM last changed a member: planRoll
	// waits out paramsReloadGrace after it before restarting the primary.
	paramsChangedAt time.Time
	quick           int // passes run back to back without waiting
	// heard: members whose PostgreSQL has answered this actor (status_hold.go).
	heard map[string]bool
	// expectations are the actor's own creations and deletions not yet
	// seen by the listers.
	expectations expectations
	// written is the object as of the actor's last status write.
	written *v1alpha1.PostgresCluster
	// unreachableSince and lostSince feed failover's timers (trackHealth).
	unreachableSince map[string]time.Time
	lostSince        map[string]time.Time
	// lastAlive and heartbeat are the operator's side of the primary's
	// self-fencing lease (failover_fence.go, fence_heartbeat.go).
	lastAlive map[string]time.Time
	heartbeat heartbeat
	// nodeLeasesForbidden: the operator may not read node Leases
	// (fence_kubelet.go); it stops trying after the first refusal.
	nodeLeasesForbidden bool
	restarts            map[string]int // failed pods replaced in a row, per member
	// primaryRestarts: primaries restarted on their volume (plan_primary_restart.go).
	primaryRestarts map[string]primaryRestarts
	// inPlace is the last restart of the primary in place (roll_in_place.go).
	inPlace inPlaceAttempt
	// notStreamingSince: since when a running replica has not streamed.
	notStreamingSince map[string]time.Time
	// growthRefused is the volume size the API last refused (volume_grow.go).
	growthRefused growthRefusal
	// pdbRefusal: the API's last refusal of the disruption budget (apply_drain.go).
	pdbRefusal pdbRefusal
	// lastPrimaryPod is the primary's pod as last seen (vanished.go).
	lastPrimaryPod *corev1.Pod
	// safety is the safety rules' memory (safety_input.go).
	safety safetyMemory
	// rejections: settings PostgreSQL refused, per member (params_rejected.go).
	rejections paramRejections
	// seedRetries: the spec of each failed seed pod deleted to retry it (plan_stuck.go).
	seedRetries map[string]string
	// passwords is what the actor knows of the roles' passwords (observe_credentials.go).
	passwords passwordMemory
	// handover is the change of primary in progress, and lastArchive the
	// archiver as last read, for the metrics (metrics.go).
	handover    handover
	lastArchive *ArchiveSample
	stats       statsMemory // the members' statistics, read off the pass (stats.go)
	// managed: the declared roles and databases (managed_observe.go).
	managed managedMemory
	// nodes: lost nodes and the volumes read (observe_node_lost.go).
	nodes nodeMemory
	certs certMemo // observe_tls_memo.go
}

// New builds the actor of one cluster; the caller starts it with Run.
// report receives a pass's error, and nil once passes succeed again.
func New(cfg *Config, key cache.ObjectName, pgc *v1alpha1.PostgresCluster, report func(error)) *Cluster {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Cluster{
		cfg:     cfg,
		key:     key,
		report:  report,
		latest:  pgc,
		wake:    make(chan struct{}, 1),
		applied: map[string]string{},

		unreachableSince: map[string]time.Time{},
		heard:            map[string]bool{},
		lostSince:        map[string]time.Time{},
		lastAlive:        map[string]time.Time{},
		restarts:         map[string]int{},
		primaryRestarts:  map[string]primaryRestarts{},

		notStreamingSince: map[string]time.Time{},
	}
}

// Update hands over the newest PostgresCluster and asks for a pass. It
// never blocks: only the newest object matters.
func (c *Cluster) Update(pgc *v1alpha1.PostgresCluster) {
	c.mu.Lock()
	c.latest = pgc
	c.mu.Unlock()
	c.poke()
}

func (c *Cluster) poke() {
	select {
	case c.wake <- struct{}{}:
	default: // a pass is already pending
	}
}

// Run is the cluster's goroutine: it runs a pass on every wake-up and on a
// jittered timer until ctx is cancelled.
func (c *Cluster) Run(ctx context.Context) {
	logger := klog.FromContext(ctx).WithValues("cluster", klog.KRef(c.key.Namespace, c.key.Name))
	ctx = klog.NewContext(ctx, logger)
	logger.V(2).Info("Cluster actor started")
	defer logger.V(2).Info("Cluster actor stopped")
	defer func() {
		// Stopped (the cluster is gone, or the operator stops), not
		// panicked: a restarted actor takes its series over.
		if ctx.Err() != nil {
			c.cfg.metrics().ForgetCluster(c.key.Namespace, c.key.Name)
		}
	}()

	defer c.stopHeartbeat() // fence_heartbeat.go

	if !c.holdFirstPass(ctx) {
		return
	}
	timer := c.cfg.Clock.NewTimer(c.firstInterval()) // timer.go
	defer timer.Stop()
	c.pass(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-timer.C():
			c.quick = 0
			timer.Reset(c.interval())
		}
		c.pass(ctx)
	}
}

// holdFirstPass waits out cfg.FirstPassDelay (startup_spread.go); false
// when ctx ended first. Wake-ups that came meanwhile are folded into the
// first pass, which reads the newest object anyway.
func (c *Cluster) holdFirstPass(ctx context.Context) bool {
	if c.cfg.FirstPassDelay <= 0 {
		return true
	}
	t := c.cfg.Clock.NewTimer(c.cfg.FirstPassDelay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
	}
	select {
	case <-c.wake:
	default:
	}
	return true
}

// interval is the reconcile period with up to 20% jitter, so thousands of
// clusters created together do not probe in lockstep.
func (c *Cluster) interval() time.Duration {
	return wait.Jitter(c.period(), 0.2)
}

func (c *Cluster) period() time.Duration {
	if c.cfg.ReconcileInterval <= 0 {
		return 10 * time.Second
	}
	return c.cfg.ReconcileInterval
}

// pass runs one reconcile pass and reports its outcome.
func (c *Cluster) pass(ctx context.Context) {
	c.mu.Lock()
	pgc := c.latest
	c.mu.Unlock()

	start := c.cfg.Clock.Now()
	outcome := PassPanic // unless reconcile returns
	defer func() {
		if outcome != "" {
			c.cfg.metrics().PassDone(outcome, c.cfg.Clock.Since(start))
		}
	}()
	progressed, err := c.reconcile(ctx, pgc)
	outcome = PassOK
	if err != nil {
		outcome = PassError
	}
	switch {
	case err != nil && ctx.Err() != nil:
		outcome = "" // stopped mid-pass: nothing to report
		return
	case err != nil && namespaceTerminating(err):
		// The namespace goes away with everything in it, this cluster
		// included; the registry stops the runner when it is deleted.
		klog.FromContext(ctx).V(2).Info("Namespace is being deleted; not retrying", "err", err)
		return
	case err != nil:
		klog.FromContext(ctx).Error(err, "Reconcile pass failed")
		c.failing = true
		c.report(err)
	case c.failing:
		c.failing = false
		c.report(nil)
	}
	// An action that changed something is followed at once by another pass,
	// up to maxQuickPasses; waiting states rely on events and the timer.
	if progressed && err == nil && c.quick < maxQuickPasses {
		c.quick++
		c.poke()
	}
}

// namespaceTerminating reports whether the API refused a write because the
// cluster's namespace is being deleted.
func namespaceTerminating(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}
