package cluster

import (
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// A new leader starts every actor at once. With a thousand clusters their
// first passes all probe PostgreSQL in the same second, the SQL calls time
// out, healthy clusters are seen as unready and their statuses rewritten.
// StartupSpread spreads the first passes of clusters whose stored status
// says healthy over a window that grows with the fleet, so the start costs
// no writes; any other cluster passes at once, as it may need help.
type StartupSpread struct {
	started time.Time  // when this replica began to lead
	count   func() int // PostgresClusters this operator serves
	rand    func(time.Duration) time.Duration

	mu     sync.Mutex
	opened time.Time     // the first actor's start: the window's beginning
	window time.Duration // spreadPerCluster per cluster, at most spreadMax
}

const (
	spreadPerCluster = 10 * time.Millisecond
	spreadMax        = 15 * time.Second
)

// NewStartupSpread holds clusters created before started; the window opens
// with the first actor, once the informers hold the fleet (their sync
// takes seconds at a thousand clusters), and count is read then.
func NewStartupSpread(started time.Time, count func() int) *StartupSpread {
	return &StartupSpread{started: started, count: count, rand: randDuration}
}

func randDuration(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max)
}

// FirstPassDelay is how long the actor of obj, started at now, holds back
// its first pass: 0 for a cluster that is not known healthy or that was
// created after this replica began to lead, otherwise a random point in
// what is left of the window.
func (s *StartupSpread) FirstPassDelay(obj *v1alpha1.PostgresCluster, now time.Time) time.Duration {
	if s == nil || obj == nil || !storedHealthy(obj) || !obj.CreationTimestamp.Time.Before(s.started) {
		return 0
	}
	opened, window := s.open(now)
	return s.rand(window - now.Sub(opened))
}

// open returns the window, opening it at now on the first call.
func (s *StartupSpread) open(now time.Time) (time.Time, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened.IsZero() {
		s.opened = now
		s.window = min(time.Duration(s.count())*spreadPerCluster, spreadMax)
	}
	return s.opened, s.window
}

// storedHealthy: the last status written says Running and Ready.
func storedHealthy(obj *v1alpha1.PostgresCluster) bool {
	return obj.Status.Phase == v1alpha1.PhaseRunning &&
		meta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ConditionReady)
}
