package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// errRegistryClosed is returned by start once stopAll has begun.
var errRegistryClosed = errors.New("runner registry is shut down")

// entry is one running runner. It stays in the registry from start until its
// Run returns, including while it is stopping, so a same-named successor can
// never run alongside it.
type entry struct {
	// build makes a fresh runner: at start, and again after a panic.
	build func(*v1alpha1.PostgresCluster) Runner
	// mu guards runner (replaced by a restart) and latest (the newest object
	// handed over, which a restarted runner starts from).
	mu       sync.Mutex
	runner   Runner
	latest   *v1alpha1.PostgresCluster
	cancel   context.CancelFunc
	done     chan struct{} // closed after Run returned and the entry was removed
	stopping atomic.Bool
	// failure is the runner's last reported error, nil when healthy. The
	// runner's report func sets it directly (lock-free, never blocks), so the
	// failing state survives even if the report channel drops the message.
	failure atomic.Pointer[runnerFailure]
}

type runnerFailure struct{ err error }

// update hands pgc to the current runner and remembers it for a restart.
func (e *entry) update(pgc *v1alpha1.PostgresCluster) {
	e.mu.Lock()
	e.latest = pgc
	r := e.runner
	e.mu.Unlock()
	r.Update(pgc)
}

func (e *entry) current() Runner {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runner
}

// rebuild replaces the runner with a fresh one built from the newest
// object. The old runner's failing state goes with it: the new one reports
// its own.
func (e *entry) rebuild() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runner = e.build(e.latest.DeepCopy())
	e.setReport(nil)
}

// failing returns the runner's outstanding error, or nil.
func (e *entry) failing() error {
	if f := e.failure.Load(); f != nil {
		return f.err
	}
	return nil
}

func (e *entry) setReport(err error) {
	if err == nil {
		e.failure.Store(nil)
		return
	}
	e.failure.Store(&runnerFailure{err: err})
}

// registry maps cluster keys to their runners. Safe for concurrent workers;
// its lock is never held while waiting for a runner.
type registry struct {
	mu      sync.Mutex
	entries map[cache.ObjectName]*entry
	closed  bool

	// restarts: how a runner that panicked is told and brought back.
	restarts restartPolicy
}

func newRegistry(restarts restartPolicy) *registry {
	return &registry{entries: make(map[cache.ObjectName]*entry), restarts: restarts}
}

// get returns key's entry, or nil.
func (r *registry) get(key cache.ObjectName) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.entries[key]
}

// isCurrent reports whether e is still key's entry (not a stopped predecessor).
func (r *registry) isCurrent(key cache.ObjectName, e *entry) bool {
	return r.get(key) == e
}

// len returns the number of registered runners, stopping ones included.
func (r *registry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

// start builds a runner for pgc with build (which gets the entry, for its
// report func) and runs it in its own goroutine under a child of ctx. Callers
// ensure key has no entry; the workqueue never syncs one key on two workers
// at once.
func (r *registry) start(ctx context.Context, key cache.ObjectName, pgc *v1alpha1.PostgresCluster,
	build func(*entry, *v1alpha1.PostgresCluster) Runner) (*entry, error) {
	e := &entry{done: make(chan struct{}), latest: pgc}
	e.build = func(pgc *v1alpha1.PostgresCluster) Runner { return build(e, pgc) }
	e.runner = e.build(pgc.DeepCopy())
	if e.runner == nil {
		return nil, fmt.Errorf("newRunner returned nil for %s", key)
	}
	runCtx, cancel := context.WithCancel(ctx)
	e.cancel = cancel

	r.mu.Lock()
	if r.closed || r.entries[key] != nil {
		closed := r.closed
		r.mu.Unlock()
		cancel()
		if closed {
			return nil, errRegistryClosed
		}
		return nil, fmt.Errorf("runner for %s already registered", key)
	}
	r.entries[key] = e
	r.mu.Unlock()

	go r.run(runCtx, key, e)
	return e, nil
}

// run runs e's runner until ctx ends. A panic in it never reaches the
// process: it is reported, and a fresh runner takes over after a delay that
// doubles with each panic in a row (restarts.go).
func (r *registry) run(ctx context.Context, key cache.ObjectName, e *entry) {
	defer r.finished(key, e)
	inARow := 0
	for {
		started := time.Now()
		p := runRecovering(ctx, e.current())
		if p == nil {
			return
		}
		if ctx.Err() != nil {
			// Stopping anyway (the cluster is gone, or the operator stops).
			klog.FromContext(ctx).Error(fmt.Errorf("panic: %v", p.value), "Cluster actor panicked while stopping",
				"stack", string(p.stack))
			return
		}
		if time.Since(started) >= r.restarts.maxDelay {
			inARow = 0 // it ran well for a long while: start the back-off over
		}
		delay := r.restarts.delay(inARow)
		inARow++
		r.restarts.onPanic(ctx, key, p, delay)
		if !sleep(ctx, delay) {
			return
		}
		e.rebuild()
	}
}

// finished removes e before closing done, so whoever waits on done sees the
// registry without it.
func (r *registry) finished(key cache.ObjectName, e *entry) {
	e.cancel() // release the context's resources
	r.mu.Lock()
	if r.entries[key] == e {
		delete(r.entries, key)
	}
	r.mu.Unlock()
	close(e.done)
}

// stop cancels key's runner and returns a channel closed when its Run has
// returned; nil if key has no runner. Safe to repeat.
func (r *registry) stop(key cache.ObjectName) <-chan struct{} {
	e := r.get(key)
	if e == nil {
		return nil
	}
	e.stopping.Store(true)
	e.cancel()
	return e.done
}

// stopAll refuses new runners, cancels every runner and waits for all of them
// to return or ctx to end.
func (r *registry) stopAll(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	all := make([]*entry, 0, len(r.entries))
	for _, e := range r.entries {
		all = append(all, e)
	}
	r.mu.Unlock()

	for _, e := range all {
		e.stopping.Store(true)
		e.cancel()
	}
	for _, e := range all {
		select {
		case <-e.done:
		case <-ctx.Done():
			return fmt.Errorf("%d runner(s) still running: %w", r.len(), context.Cause(ctx))
		}
	}
	return nil
}
