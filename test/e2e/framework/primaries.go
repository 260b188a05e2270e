//go:build e2e

package framework

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// PrimaryWatch is the never-two-primaries check by intervals: for every
// incarnation of every member it knows, from PostgreSQL's own log and the
// kernel, from when it could accept writes until when it certainly could
// not. Sampling pg_is_in_recovery() can miss a primary between two
// samples; two intervals that overlap cannot be missed.
type PrimaryWatch struct {
	f    *Framework
	stop chan struct{}

	mu    sync.Mutex
	byUID map[string]*incarnation
}

func newPrimaryWatch(f *Framework) *PrimaryWatch {
	return &PrimaryWatch{f: f, stop: make(chan struct{}), byUID: map[string]*incarnation{}}
}

// see registers every pod whose postgres container has started.
func (w *PrimaryWatch) see(pods []corev1.Pod) {
	for i := range pods {
		p := &pods[i]
		if _, err := ContainerID(p, "postgres"); err != nil {
			continue // not started yet (or already over: registered before, or never ran)
		}
		w.mu.Lock()
		_, known := w.byUID[string(p.UID)]
		w.mu.Unlock()
		if known {
			continue
		}
		in := w.f.newIncarnation(p)
		w.mu.Lock()
		w.byUID[in.uid] = in
		w.mu.Unlock()
		go in.follow(w.stop)
	}
}

// Stop ends every follower.
func (w *PrimaryWatch) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}

func (w *PrimaryWatch) incarnations() []*incarnation {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*incarnation
	for _, in := range w.byUID {
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b *incarnation) int { return a.followStart.Compare(b.followStart) })
	return out
}

// PrimaryCheck is the outcome of one check over a time window.
type PrimaryCheck struct {
	// Overlaps are pairs of primary intervals that overlap: two primaries.
	Overlaps []string
	// Unobserved are incarnations alive in the window whose log or process
	// could not be followed: their intervals are unknown.
	Unobserved []string
	// Intervals describes every primary interval that touches the window.
	Intervals []string
	// OpenPrimaries are pods whose primary interval is still open.
	OpenPrimaries []string
	// Closed are pods whose primary interval ended in the window.
	Closed []string
}

// Check looks at every incarnation alive at some point in [from, to]. An
// unobserved incarnation counts as a possible primary for its whole life,
// so it fails the check unless nothing else was primary meanwhile; the
// caller fails on any Unobserved entry anyway.
func (w *PrimaryWatch) Check(from, to time.Time) PrimaryCheck {
	var c PrimaryCheck
	var ivs []primaryInterval
	for _, in := range w.incarnations() {
		if !in.aliveAt(from) {
			continue
		}
		if why := in.unobserved(); why != "" {
			c.Unobserved = append(c.Unobserved, fmt.Sprintf("%s (uid %s): %s", in.pod, in.uid, why))
		}
		iv, ok := in.interval()
		if !ok {
			continue
		}
		if !iv.open && iv.to.Before(from) {
			continue
		}
		ivs = append(ivs, iv)
		c.Intervals = append(c.Intervals, iv.String())
		if iv.open {
			c.OpenPrimaries = append(c.OpenPrimaries, iv.pod)
		} else if !iv.to.After(to) {
			c.Closed = append(c.Closed, iv.pod)
		}
	}
	c.Overlaps = overlaps(ivs)
	return c
}

// overlaps lists every pair of intervals that share an instant.
func overlaps(ivs []primaryInterval) []string {
	var out []string
	for i := range ivs {
		for j := i + 1; j < len(ivs); j++ {
			a, b := ivs[i], ivs[j]
			if a.overlaps(b) {
				out = append(out, fmt.Sprintf("%s and %s", a, b))
			}
		}
	}
	return out
}

func (a primaryInterval) overlaps(b primaryInterval) bool {
	aEndsAfterBStarts := a.open || a.to.After(b.from)
	bEndsAfterAStarts := b.open || b.to.After(a.from)
	return aEndsAfterBStarts && bEndsAfterAStarts
}

func (a primaryInterval) String() string {
	end := "still primary"
	if !a.open {
		end = a.to.Format("15:04:05.000")
	}
	return fmt.Sprintf("%s (uid %.8s) primary %s → %s", a.pod, a.uid, a.from.Format("15:04:05.000"), end)
}

// Summary is a one-line description of a check for the log.
func (c PrimaryCheck) Summary() string {
	return fmt.Sprintf("intervals: %s", strings.Join(c.Intervals, "; "))
}
