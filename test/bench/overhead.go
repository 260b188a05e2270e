package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// podOverhead is what one member container costs beyond PostgreSQL.
type podOverhead struct {
	pod, role string
	// others are the non-postgres processes of the last snapshot.
	others []proc
	// seen counts, per command name, the snapshots in which a non-postgres
	// process appeared (exec readiness probes come and go).
	seen                     map[string]int
	snapshots                int
	postgresPSS, postgresRSS int64
	othersPSS                int64
	postgresProcs            int
	mem                      cgroupMem
	cpuMillisPerSecond       float64
	window                   time.Duration
}

// measurePodOverhead snapshots a member container's processes every 250 ms
// over the window and reads its cgroup's memory and CPU.
func (e *env) measurePodOverhead(ctx context.Context, ns, cluster string, window time.Duration) ([]podOverhead, error) {
	pods, err := e.memberPods(ctx, ns, cluster)
	if err != nil {
		return nil, err
	}
	var out []podOverhead
	for i := range pods {
		id, err := containerID(&pods[i])
		if err != nil {
			return nil, err
		}
		out = append(out, podOverhead{pod: pods[i].Name, role: pods[i].Labels[roleLabel], seen: map[string]int{}, window: window})
		init, err := e.containerInit(ctx, id)
		if err != nil {
			return nil, err
		}
		o := &out[len(out)-1]
		cpu0 := cgroupCPU(init)
		start := time.Now()
		for time.Since(start) < window/time.Duration(len(pods)) {
			if err := o.snapshot(ctx, e, id); err != nil {
				return nil, err
			}
			time.Sleep(250 * time.Millisecond) // sampling period, not synchronisation
		}
		o.cpuMillisPerSecond = float64(cgroupCPU(init)-cpu0) / 1e6 / time.Since(start).Seconds()
		if o.mem, err = readCgroupMem(init); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (o *podOverhead) snapshot(ctx context.Context, e *env, id string) error {
	pids, err := e.containerPIDs(ctx, id)
	if err != nil {
		return err
	}
	o.snapshots++
	o.others, o.postgresPSS, o.postgresRSS, o.othersPSS, o.postgresProcs = nil, 0, 0, 0, 0
	names := map[string]bool{}
	for _, pid := range pids {
		p, err := readProc(pid)
		if err != nil {
			continue // exited between ps and /proc
		}
		if p.comm == "postgres" {
			o.postgresPSS += p.pss
			o.postgresRSS += p.rss
			o.postgresProcs++
			continue
		}
		o.others = append(o.others, p)
		o.othersPSS += p.pss
		names[p.comm] = true
	}
	for n := range names {
		o.seen[n]++
	}
	return nil
}

func overheadTable(rows []podOverhead) *table {
	t := newTable("Per-pod overhead beyond PostgreSQL (one member container)",
		"pod", "role", "postgres procs (PSS / RSS)", "other processes now", "other PSS",
		"cgroup usage / working set / anon / shmem", "CPU idle")
	for _, o := range rows {
		var others []string
		for _, p := range o.others {
			others = append(others, fmt.Sprintf("%s[%d] %q", p.comm, p.pid, truncate(strings.Join(strings.Fields(p.cmdline), " "), 32)))
		}
		t.add(o.pod, o.role, fmt.Sprintf("%d (%s / %s)", o.postgresProcs, mib(o.postgresPSS), mib(o.postgresRSS)),
			strings.Join(others, ", "), mib(o.othersPSS),
			fmt.Sprintf("%s / %s / %s / %s", mib(o.mem.usage), mib(o.mem.workingSet), mib(o.mem.anon), mib(o.mem.shmem)),
			fmt.Sprintf("%.1f ms/s", o.cpuMillisPerSecond))
	}
	for _, o := range rows {
		var seen []string
		for n, c := range o.seen {
			seen = append(seen, fmt.Sprintf("%s in %d/%d", n, c, o.snapshots))
		}
		sort.Strings(seen)
		t.note("%s: non-postgres processes seen in snapshots every 250 ms: %s", o.pod, strings.Join(seen, ", "))
	}
	t.note("goal: no agent process (not judged here: read the processes above). CloudNativePG: %s.", targets[figPodOverhead].reference)
	t.note("  %s.", referenceSource)
	t.note("PSS shares shared_buffers among the postgres processes; the cgroup's shmem is shared_buffers actually touched.")
	return t
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
