//go:build e2e

package framework

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// incarnation is one run of a member's postgres container: one postmaster
// (restartPolicy Never: a container never runs twice). Its primary
// interval runs from the moment PostgreSQL says it can accept writes until
// its container's first process is gone, which the kernel allows only once
// every other process of the container has died, or until PostgreSQL says
// it has shut down, whichever comes first.
type incarnation struct {
	pod, uid, cid string
	pid           int
	logPath       string

	mu          sync.Mutex
	writableAt  time.Time // zero: never could accept writes
	shutDownAt  time.Time
	deadAt      time.Time // when its first process was first seen gone
	drained     bool      // dead and its log read to the end
	problem     string    // why it could not be followed ("" when it was)
	lines       int
	followStart time.Time
}

// primaryInterval is [from, to); open is true while it may still write.
type primaryInterval struct {
	pod, uid string
	from, to time.Time
	open     bool
}

func (in *incarnation) interval() (primaryInterval, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.writableAt.IsZero() {
		return primaryInterval{}, false
	}
	iv := primaryInterval{pod: in.pod, uid: in.uid, from: in.writableAt}
	switch {
	case !in.shutDownAt.IsZero() && (in.deadAt.IsZero() || in.shutDownAt.Before(in.deadAt)):
		iv.to = in.shutDownAt
	case !in.deadAt.IsZero():
		iv.to = in.deadAt
	default:
		iv.open = true
	}
	return iv, true
}

// newIncarnation finds the container's host PID and log file; a problem is
// recorded, not returned: the check counts it as an unobserved member.
func (f *Framework) newIncarnation(pod *corev1.Pod) *incarnation {
	in := &incarnation{pod: pod.Name, uid: string(pod.UID), followStart: time.Now()}
	cid, err := ContainerID(pod, "postgres")
	if err != nil {
		in.problem = err.Error()
		return in
	}
	in.cid = cid
	if in.pid, err = f.taskPID(cid); err != nil {
		in.problem = fmt.Sprintf("no host PID for container %s: %v", cid, err)
		return in
	}
	dir := filepath.Join(f.LocalClusterDir(), "var/log/pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID), "postgres")
	in.logPath = filepath.Join(dir, "0.log")
	return in
}

// follow reads the container's log file as it grows and watches its first
// process, until the process is gone and the log is read to the end. The
// file is kept open: the kubelet may remove it once the pod is deleted.
func (in *incarnation) follow(stop <-chan struct{}) {
	if in.problem != "" {
		return
	}
	file, err := os.Open(in.logPath)
	if err != nil {
		in.setProblem(fmt.Sprintf("opening its log: %v", err))
		return
	}
	defer file.Close()
	r := bufio.NewReader(file)
	var partial strings.Builder
	var quietSinceDead int
	for {
		gotData := in.readAvailable(r, &partial)
		if !in.isDead() && !alive(in.pid) {
			in.markDead(time.Now())
		}
		if in.isDead() {
			// The runtime's shim may still be writing the last lines.
			if quietSinceDead++; gotData {
				quietSinceDead = 0
			}
			if quietSinceDead > 50 {
				in.markDrained()
				return
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// readAvailable reads every complete line there is now.
func (in *incarnation) readAvailable(r *bufio.Reader, partial *strings.Builder) bool {
	got := false
	for {
		chunk, err := r.ReadString('\n')
		partial.WriteString(chunk)
		if len(chunk) > 0 {
			got = true
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				in.setProblem(fmt.Sprintf("reading its log: %v", err))
			}
			return got
		}
		in.note(strings.TrimRight(partial.String(), "\n"))
		partial.Reset()
	}
}

func (in *incarnation) note(line string) {
	ev, at := parseLogLine(line)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.lines++
	switch {
	case ev == eventWritable && in.writableAt.IsZero():
		in.writableAt = at
	case ev == eventShutDown && in.shutDownAt.IsZero():
		in.shutDownAt = at
	}
}

func (in *incarnation) setProblem(p string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.problem == "" {
		in.problem = p
	}
}

func (in *incarnation) isDead() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return !in.deadAt.IsZero()
}

func (in *incarnation) markDead(at time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.deadAt = at
}

func (in *incarnation) markDrained() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.drained = true
}

// observed says whether the incarnation's log and process were followed,
// and is "" if so.
func (in *incarnation) unobserved() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.problem != "":
		return in.problem
	case in.lines == 0:
		return "no log line read"
	case !in.deadAt.IsZero() && !in.drained:
		return "dead, but its log is not read to the end yet"
	}
	return ""
}

// aliveAt reports whether the incarnation may have run at t.
func (in *incarnation) aliveAt(t time.Time) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.deadAt.IsZero() || !in.deadAt.Before(t)
}
