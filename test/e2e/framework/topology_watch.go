//go:build e2e

package framework

import (
	"sync"
	"time"
)

// TopologyWatch samples a cluster in the background and keeps every
// sample that saw two primaries: the one thing no fault may ever cause.
type TopologyWatch struct {
	tp   *Topology
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples int
	last    Snapshot
	bad     []Snapshot
}

// Watch starts sampling every interval until Stop.
func (tp *Topology) Watch(interval time.Duration) *TopologyWatch {
	w := &TopologyWatch{tp: tp, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(interval)
	return w
}

func (w *TopologyWatch) run(interval time.Duration) {
	defer close(w.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		s := w.tp.Sample()
		w.mu.Lock()
		w.samples++
		w.last = s
		if s.TwoPrimaries() {
			w.bad = append(w.bad, s)
		}
		w.mu.Unlock()
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
	}
}

// Stop ends the sampling.
func (w *TopologyWatch) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// Samples is how many samples were taken so far.
func (w *TopologyWatch) Samples() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples
}

// TwoPrimaries returns the samples that saw two primaries, from the n-th on
// (n from an earlier call's length, so each fault reads its own).
func (w *TopologyWatch) TwoPrimaries(from int) []Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	if from >= len(w.bad) {
		return nil
	}
	return append([]Snapshot(nil), w.bad[from:]...)
}

// Last is the newest sample.
func (w *TopologyWatch) Last() Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}
