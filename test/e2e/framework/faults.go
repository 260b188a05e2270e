//go:build e2e

package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The fault injectors return once the fault has taken effect (a deleted
// pod carries its deletion timestamp or is gone, a killed process is dead),
// so what a test measures afterwards is the recovery, not the injection.

// LocalClusterDir is the local cluster's state folder.
func (f *Framework) LocalClusterDir() string {
	if d := os.Getenv("LOCAL_CLUSTER_DIR"); d != "" {
		return d
	}
	return filepath.Join(f.Root, ".local-cluster")
}

// DeletePod deletes a pod with the given grace period (nil: the pod's own)
// and returns its UID.
func (f *Framework) DeletePod(ns, name string, grace *int64) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pod, err := f.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	opts := metav1.DeleteOptions{GracePeriodSeconds: grace, Preconditions: &metav1.Preconditions{UID: &pod.UID}}
	if err := f.Kube.CoreV1().Pods(ns).Delete(ctx, name, opts); err != nil {
		return "", fmt.Errorf("deleting pod %s: %w", name, err)
	}
	return string(pod.UID), nil
}

// ForceDeletePod is `kubectl delete pod --grace-period=0 --force`: the
// object goes at once, while the kubelet may still be stopping the
// containers.
func (f *Framework) ForceDeletePod(ns, name string) (string, error) {
	return f.DeletePod(ns, name, ptr.To[int64](0))
}

// DeleteClusterPods deletes every member pod of a cluster in one call and
// returns their UIDs.
func (f *Framework) DeleteClusterPods(ns, cluster string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sel := metav1.ListOptions{LabelSelector: topoClusterLabel + "=" + cluster}
	list, err := f.Kube.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil {
		return nil, err
	}
	if err := f.Kube.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		return nil, err
	}
	var uids []string
	for _, p := range list.Items {
		uids = append(uids, string(p.UID))
	}
	return uids, nil
}

// ctr runs containerd's ctr against the node's containerd.
func (f *Framework) ctr(args ...string) (string, error) {
	sock := filepath.Join(f.LocalClusterDir(), "run/containerd/containerd.sock")
	out, err := exec.Command("ctr", append([]string{"--address", sock, "-n", "k8s.io"}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// ContainerID is the containerd ID of a pod's running container.
func ContainerID(pod *corev1.Pod, container string) (string, error) {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == container && cs.State.Running != nil {
			id, ok := strings.CutPrefix(cs.ContainerID, "containerd://")
			if !ok {
				return "", fmt.Errorf("container %s of %s: unexpected ID %q", container, pod.Name, cs.ContainerID)
			}
			return id, nil
		}
	}
	return "", fmt.Errorf("container %s of pod %s is not running", container, pod.Name)
}

// taskPID is the host PID of a container's first process.
func (f *Framework) taskPID(cid string) (int, error) {
	out, err := f.ctr("task", "ls")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if fields := strings.Fields(line); len(fields) >= 3 && fields[0] == cid {
			return strconv.Atoi(fields[1])
		}
	}
	return 0, fmt.Errorf("no containerd task %s", cid)
}

// KillContainer sends SIGKILL to a whole container (its first process, so
// the kernel ends the rest of its PID namespace) through containerd: a
// crash of the container, as an OOM kill would be. It returns once the
// first process is dead.
func (f *Framework) KillContainer(cid string) error {
	pid, err := f.taskPID(cid)
	if err != nil {
		return err
	}
	if _, err := f.ctr("task", "kill", "-s", "SIGKILL", cid); err != nil {
		return err
	}
	return waitDead(pid, 10*time.Second)
}

// KillPostmaster sends SIGKILL to PostgreSQL's postmaster only, not to the
// container's shell (PID 1 inside, whose child the postmaster is): a crash
// of the database server while its container lives on for a moment, with
// backends orphaned. It returns the postmaster's host PID once it is dead.
func (f *Framework) KillPostmaster(cid string) (int, error) {
	init, err := f.taskPID(cid)
	if err != nil {
		return 0, err
	}
	out, err := f.ctr("task", "ps", cid)
	if err != nil {
		return 0, err
	}
	pid := 0
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		p, err := strconv.Atoi(fields[0])
		if err == nil && p != init && parentOf(p) == init && commOf(p) == "postgres" {
			pid = p
		}
	}
	if pid == 0 {
		return 0, fmt.Errorf("container %s: no postgres process whose parent is the container's first process %d", cid, init)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("killing postmaster %d: %w", pid, err)
	}
	return pid, waitDead(pid, 10*time.Second)
}

// statFields are the fields of /proc/PID/stat after the command name.
func statFields(pid int) []string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(stat)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

func parentOf(pid int) int {
	if f := statFields(pid); len(f) > 1 {
		ppid, _ := strconv.Atoi(f[1])
		return ppid
	}
	return 0
}

func commOf(pid int) string {
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(comm))
}

// waitDead polls until pid has exited (a zombie counts as dead: its
// parent has yet to reap it, but it runs no more).
func waitDead(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("PID %d still alive after %s", pid, timeout)
}

func alive(pid int) bool {
	f := statFields(pid)
	return len(f) > 0 && f[0] != "Z"
}
