//go:build e2e

package framework

import (
	"fmt"
	"os"
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
