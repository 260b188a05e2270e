//go:build e2e

package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Stalls: a process or a whole container that stops running without
// dying, as on a frozen VM, a stuck disk or a node under memory pressure.
// Its sockets stay open and the kernel still answers TCP for it, so those
// who talk to it see a silence, not an error.

// PauseContainer freezes every process of a container (the cgroup freezer,
// through containerd) until ResumeContainer. The kubelet's exec probes
// cannot run in a paused container; it discards those errors, so the pod
// keeps the readiness it had.
func (f *Framework) PauseContainer(cid string) error {
	_, err := f.ctr("task", "pause", cid)
	return err
}

// ResumeContainer thaws a container PauseContainer froze.
func (f *Framework) ResumeContainer(cid string) error {
	_, err := f.ctr("task", "resume", cid)
	return err
}

// StopWALReceiver sends SIGSTOP to a standby's WAL receiver only: the
// standby stops receiving WAL while its server answers every query. It
// returns the receiver's host PID for ContinueProcess.
func (f *Framework) StopWALReceiver(cid string) (int, error) {
	out, err := f.ctr("task", "ps", cid)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pid, err := strconv.Atoi(fields[0])
		if err != nil || !strings.Contains(cmdlineOf(pid), "walreceiver") {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			return 0, fmt.Errorf("stopping WAL receiver %d: %w", pid, err)
		}
		return pid, nil
	}
	return 0, fmt.Errorf("container %s: no WAL receiver process", cid)
}

// ContinueProcess sends SIGCONT to a process StopWALReceiver stopped.
func ContinueProcess(pid int) error {
	return syscall.Kill(pid, syscall.SIGCONT)
}

// cmdlineOf is a process's title: PostgreSQL rewrites it to name the
// process's role ("postgres: dv: walreceiver streaming 0/3000148").
func cmdlineOf(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

// FreezePod freezes the pod-level cgroup of a container (the cgroup v1
// freezer, one level above the container's own) and returns it for
// ThawPod: a stall the node's container runtime cannot end. runc thaws a
// paused container's own cgroup to deliver SIGKILL, so a container that
// PauseContainer froze dies as soon as the kubelet kills it; under a
// frozen parent its signals wait, as on a VM stalled with its kubelet
// still answering, and the kubelet's kill waits with them.
func (f *Framework) FreezePod(cid string) (string, error) {
	pid, err := f.taskPID(cid)
	if err != nil {
		return "", err
	}
	dir, err := podFreezer(pid)
	if err != nil {
		return "", err
	}
	return dir, setFreezer(dir, "FROZEN")
}

// ThawPod thaws a pod cgroup FreezePod froze.
func ThawPod(dir string) error { return setFreezer(dir, "THAWED") }

// podFreezer is the freezer cgroup directory of the pod a process runs in.
func podFreezer(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] != "freezer" {
			continue
		}
		pod := filepath.Dir(parts[2])
		if !strings.Contains(filepath.Base(pod), "pod") {
			return "", fmt.Errorf("process %d: cgroup %s is not inside a pod's", pid, parts[2])
		}
		return filepath.Join("/sys/fs/cgroup/freezer", pod), nil
	}
	return "", fmt.Errorf("process %d has no cgroup v1 freezer (FreezePod needs one)", pid)
}

func setFreezer(dir, state string) error {
	return os.WriteFile(filepath.Join(dir, "freezer.state"), []byte(state), 0o644)
}
