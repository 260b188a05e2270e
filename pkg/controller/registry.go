package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"
)

// errRegistryClosed is returned by start once stopAll has begun.
var errRegistryClosed = errors.New("runner registry is shut down")

// entry is one running runner. It stays in the registry from start until its
// Run returns, including while it is stopping, so a same-named successor can
// never run alongside it.
type entry struct {
	runner   Runner
	cancel   context.CancelFunc
	done     chan struct{} // closed after Run returned and the entry was removed
	stopping atomic.Bool
	// failure is the runner's last reported error, nil when healthy. The
	// runner's report func sets it directly (lock-free, never blocks), so the
	// failing state survives even if the report channel drops the message.
	failure atomic.Pointer[runnerFailure]
}

type runnerFailure struct{ err error }

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
}

func newRegistry() *registry {
	return &registry{entries: make(map[cache.ObjectName]*entry)}
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

// start builds a runner with build (which gets the entry, for its report
// func) and runs it in its own goroutine under a child of ctx. Callers ensure
// key has no entry; the workqueue never syncs one key on two workers at once.
func (r *registry) start(ctx context.Context, key cache.ObjectName, build func(*entry) Runner) (*entry, error) {
	e := &entry{done: make(chan struct{})}
	e.runner = build(e)
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

func (r *registry) run(ctx context.Context, key cache.ObjectName, e *entry) {
	defer r.finished(key, e)
	defer utilruntime.HandleCrashWithContext(ctx)
	e.runner.Run(ctx)
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
