package main

import (
	"context"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"k8s.io/klog/v2"
)

// memoryLimitShare is the part of the container's memory limit the Go
// runtime may use before the collector works harder; the rest is for the
// binary's mapped pages and what the runtime keeps outside its count. Not
// lower: at 70 % an idle 1,000-cluster fleet (117 MiB of live heap, the
// runtime's stacks and spans on top) kept the collector at the limit all
// the time, 0.92 core instead of 0.23, for 204 MiB of RSS instead of 232.
const memoryLimitShare = 0.85

// gcPercent is the collector's GOGC unless the GOGC variable sets one:
// the heap may grow by 15 % of what is live (Go's default: 100 %) before
// a collection. Why: an idle fleet's memory is mostly what is live
// (informer caches, kept connections, one actor per cluster), so the
// default doubled it and left the heap pinned at the soft limit. At 1,000
// clusters the operator's RSS was 232 MiB at 100, 228 at 50, 207 at 25
// and 192 at 15 (README, Figures). The collector runs more often for it,
// in an operator whose CPU is mostly idle: 0.235 core at 50, 0.251 at 25,
// 0.326 at 15. The soft limit still guards the bursts (a restart's first
// passes) it was made for.
const gcPercent = 15

// cgroupMemoryFiles hold the container's memory limit: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// tuneCollector sets the collector's target (gcPercent) and gives the Go
// runtime a soft limit below the container's memory limit, unless GOGC and
// GOMEMLIMIT set them. Why: the collector lets the
// heap grow to twice what is live before it runs, and an operator with a
// thousand clusters that restarts (every actor's first pass at once) went
// over its 256 MiB and was OOM-killed, again at every restart, while what
// was live stayed under 100 MiB.
func tuneCollector(ctx context.Context) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit, ok := containerMemoryLimit(cgroupMemoryFiles)
	if !ok {
		return
	}
	soft := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(soft)
	klog.FromContext(ctx).Info("Go memory limit set from the container's", "containerLimitBytes", limit, "softLimitBytes", soft)
}

// containerMemoryLimit reads the first file that holds a limit; false
// when none does or the limit is unset ("max", or v1's huge number).
func containerMemoryLimit(files []string) (int64, bool) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}
