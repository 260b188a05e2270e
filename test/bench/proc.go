package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The node is this machine: a container's processes are host processes,
// so /proc and the cgroup filesystem tell what a pod really costs.

// proc is one process as /proc shows it.
type proc struct {
	pid      int
	comm     string
	cmdline  string
	rss, pss int64 // bytes
	cpuTicks int64 // utime+stime, in clock ticks (USER_HZ, 100 on Linux)
}

const userHZ = 100

// containerPIDs lists a container's processes through containerd.
func (e *env) containerPIDs(ctx context.Context, id string) ([]int, error) {
	out, err := e.ctr(ctx, "task", "ps", id)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, l := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if pid, err := strconv.Atoi(f[0]); err == nil {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("container %s has no processes", id)
	}
	return pids, nil
}

// containerInit is the PID of a container's first process.
func (e *env) containerInit(ctx context.Context, id string) (int, error) {
	out, err := e.ctr(ctx, "task", "ls")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == id {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no task for container %s", id)
}

func readProc(pid int) (proc, error) {
	p := proc{pid: pid}
	base := filepath.Join("/proc", strconv.Itoa(pid))
	comm, err := os.ReadFile(base + "/comm")
	if err != nil {
		return p, err
	}
	p.comm = strings.TrimSpace(string(comm))
	cmd, _ := os.ReadFile(base + "/cmdline")
	p.cmdline = strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	p.rss = kvBytes(base+"/status", "VmRSS:")
	p.pss = kvBytes(base+"/smaps_rollup", "Pss:")
	if stat, err := os.ReadFile(base + "/stat"); err == nil {
		// Fields after the parenthesised comm, which may contain spaces.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			p.cpuTicks = u + st
		}
	}
	return p, nil
}

// kvBytes reads a "Key:   123 kB" line from a /proc file.
func kvBytes(path, key string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, key) {
			f := strings.Fields(l[len(key):])
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}

// cgroupMem is a container's memory as its cgroup accounts it.
type cgroupMem struct {
	usage, workingSet, anon, file, shmem int64
}

// cgroupDir finds a process's cgroup directory for a v1 controller, or
// the v2 unified one.
func cgroupDir(pid int, controller string) (string, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", false
	}
	var unified string
	for _, l := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return filepath.Join("/sys/fs/cgroup", controller, parts[2]), false
			}
		}
		if parts[0] == "0" && parts[1] == "" {
			unified = filepath.Join("/sys/fs/cgroup", parts[2])
		}
	}
	return unified, unified != ""
}

func readCgroupMem(pid int) (cgroupMem, error) {
	dir, v2 := cgroupDir(pid, "memory")
	if dir == "" {
		return cgroupMem{}, fmt.Errorf("no memory cgroup for pid %d", pid)
	}
	stat := readKV(filepath.Join(dir, "memory.stat"))
	var m cgroupMem
	if v2 {
		m.usage = readInt(filepath.Join(dir, "memory.current"))
		m.anon, m.file, m.shmem = stat["anon"], stat["file"], stat["shmem"]
	} else {
		m.usage = readInt(filepath.Join(dir, "memory.usage_in_bytes"))
		m.anon, m.file, m.shmem = stat["total_rss"], stat["total_cache"], stat["total_shmem"]
	}
	// The kubelet's working set: usage minus reclaimable inactive file pages.
	inactive := stat["total_inactive_file"]
	if v2 {
		inactive = stat["inactive_file"]
	}
	m.workingSet = max(m.usage-inactive, 0)
	return m, nil
}

// cgroupCPU is the container's total CPU time in nanoseconds.
func cgroupCPU(pid int) int64 {
	dir, v2 := cgroupDir(pid, "cpuacct")
	if v2 {
		return readKV(filepath.Join(dir, "cpu.stat"))["usage_usec"] * 1000
	}
	return readInt(filepath.Join(dir, "cpuacct.usage"))
}

func readInt(path string) int64 {
	data, _ := os.ReadFile(path)
	n, _ := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return n
}

func readKV(path string) map[string]int64 {
	out := map[string]int64{}
	data, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			out[f[0]], _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return out
}
