//go:build e2e

package framework

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	// crashes holds the log of every member pod seen failed, by UID: the
	// operator deletes failed pods at once, and their logs with them.
	crashes   map[string]bool
	crashLogs []string
}

// Watch starts sampling every interval until Stop.
func (tp *Topology) Watch(interval time.Duration) *TopologyWatch {
	w := &TopologyWatch{tp: tp, stop: make(chan struct{}), done: make(chan struct{}), crashes: map[string]bool{}}
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
		w.keepCrashLogs(s)
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

func (w *TopologyWatch) keepCrashLogs(s Snapshot) {
	for _, m := range s.Members {
		if m.Phase != corev1.PodFailed && m.Phase != corev1.PodSucceeded {
			continue
		}
		w.mu.Lock()
		seen := w.crashes[m.UID]
		w.mu.Unlock()
		if seen {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		data, err := w.tp.f.Kube.CoreV1().Pods(w.tp.ns).GetLogs(m.Name, &corev1.PodLogOptions{TailLines: ptrInt64(40)}).DoRaw(ctx)
		cancel()
		text := fmt.Sprintf("--- %s (uid %s, %s) failed; its last log lines:\n%s", m.Name, m.UID, s.At.Format("15:04:05.000"), data)
		if err != nil {
			text = fmt.Sprintf("--- %s (uid %s) failed; its log is gone: %v", m.Name, m.UID, err)
		}
		w.mu.Lock()
		w.crashes[m.UID] = true
		w.crashLogs = append(w.crashLogs, text)
		w.mu.Unlock()
	}
}

// CrashLogs returns the logs of the member pods seen failed.
func (w *TopologyWatch) CrashLogs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.crashLogs...)
}

func ptrInt64(v int64) *int64 { return &v }

// MemberLogs returns the last lines of every member pod's log, for a
// report when recovery is slow.
func (tp *Topology) MemberLogs(lines int64) string {
	var b strings.Builder
	pods, err := tp.pods()
	if err != nil {
		return fmt.Sprintf("cannot list pods: %v", err)
	}
	for _, p := range pods {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		data, err := tp.f.Kube.CoreV1().Pods(tp.ns).GetLogs(p.Name, &corev1.PodLogOptions{TailLines: ptrInt64(lines)}).DoRaw(ctx)
		cancel()
		if err != nil {
			data = []byte(err.Error())
		}
		fmt.Fprintf(&b, "--- %s (uid %s):\n%s\n", p.Name, p.UID, data)
	}
	return b.String()
}
