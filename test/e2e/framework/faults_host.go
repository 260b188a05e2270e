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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Where and how the operator runs (manifests/operator).
const (
	OperatorNamespace = "postgres-operator"
	operatorSelector  = "app.kubernetes.io/name=postgres-operator"
	operatorLease     = "postgres-operator"
)

// KillOperator crashes the operator pod that leads (holds the Lease):
// SIGKILL to its container first, so it neither finishes its current
// action nor releases the Lease, then deletion of the pod with grace 0.
// The standby replica takes the Lease over once it expires, and the
// Deployment starts a new standby. With no live leader (a takeover in
// progress) it crashes every operator pod. It returns the killed pods' names.
func (f *Framework) KillOperator() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := f.Kube.CoreV1().Pods(OperatorNamespace).List(ctx, metav1.ListOptions{LabelSelector: operatorSelector})
	if err != nil {
		return nil, err
	}
	leader, _ := f.LeaseHolder()
	var names []string
	for i := range list.Items {
		pod := &list.Items[i]
		if pod.DeletionTimestamp != nil || (leader != "" && pod.Name != leader) {
			continue
		}
		if cid, err := ContainerID(pod, pod.Spec.Containers[0].Name); err == nil {
			if err := f.KillContainer(cid); err != nil {
				return names, err
			}
		}
		opts := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &pod.UID}}
		if err := f.Kube.CoreV1().Pods(OperatorNamespace).Delete(ctx, pod.Name, opts); err != nil {
			return names, fmt.Errorf("deleting operator pod %s: %w", pod.Name, err)
		}
		names = append(names, pod.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no running operator pod")
	}
	return names, nil
}

// OperatorLogs is `kubectl logs` of the operator pod that leads, the one
// that acts: the Deployment runs a standby too, and `kubectl logs
// deploy/postgres-operator` may pick either.
func (f *Framework) OperatorLogs(args ...string) (string, error) {
	leader, err := f.LeaseHolder()
	if err != nil {
		return "", err
	}
	r := f.Run("", append([]string{"-n", OperatorNamespace, "logs", leader}, args...)...)
	if r.Err != nil {
		return "", fmt.Errorf("kubectl logs %s: %w: %s", leader, r.Err, r.Stderr)
	}
	return r.Stdout, nil
}

// LeaseHolder is the operator pod holding the leader Lease, if that pod
// exists and runs.
func (f *Framework) LeaseHolder() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lease, err := f.Kube.CoordinationV1().Leases(OperatorNamespace).Get(ctx, operatorLease, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		return "", fmt.Errorf("nobody holds the Lease")
	}
	holder := *lease.Spec.HolderIdentity
	pod, err := f.Kube.CoreV1().Pods(OperatorNamespace).Get(ctx, holder, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("Lease holder %s: %w", holder, err)
	}
	if pod.DeletionTimestamp != nil {
		return "", fmt.Errorf("Lease holder %s is being deleted", holder)
	}
	return holder, nil
}

// ComponentPIDs reads the local cluster's PID files ("PID binary" each).
func (f *Framework) ComponentPIDs() (map[string]int, error) {
	files, err := filepath.Glob(filepath.Join(f.LocalClusterDir(), "run", "*.pid"))
	if err != nil {
		return nil, err
	}
	pids := map[string]int{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		fields := strings.Fields(string(data))
		if len(fields) == 0 {
			continue
		}
		pid, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		pids[strings.TrimSuffix(filepath.Base(file), ".pid")] = pid
	}
	return pids, nil
}

// apiServerGrace is how long kube-apiserver gets to exit after SIGTERM
// before SIGKILL, as hack/lib/cluster-down.sh gives it: its graceful
// shutdown otherwise waits 60 s for long-running requests to end.
const apiServerGrace = 5 * time.Second

// RestartAPIServer stops the local cluster's kube-apiserver with SIGTERM
// (SIGKILL after apiServerGrace) and starts it again with
// `hack/local-cluster.sh up`, which starts only what is not running. It
// checks that: afterwards the API server has a new PID and every other
// component its old one. down is the time the API server was away, from
// the signal to `up` returning (which waits for /readyz). stopped, if set,
// is called once the old process is dead.
func (f *Framework) RestartAPIServer(stopped func()) (down time.Duration, err error) {
	before, err := f.ComponentPIDs()
	if err != nil {
		return 0, err
	}
	pid, ok := before["kube-apiserver"]
	if !ok || !alive(pid) {
		return 0, fmt.Errorf("kube-apiserver is not running (PID files: %v)", before)
	}
	start := time.Now()
	if err := stopProcess(pid, apiServerGrace); err != nil {
		return 0, err
	}
	if stopped != nil {
		stopped()
	}
	if err := f.localClusterUp(); err != nil {
		return time.Since(start), err
	}
	down = time.Since(start)
	after, err := f.ComponentPIDs()
	if err != nil {
		return down, err
	}
	return down, checkOnlyAPIServerRestarted(before, after)
}

func checkOnlyAPIServerRestarted(before, after map[string]int) error {
	for name, pid := range before {
		switch {
		case name == "kube-apiserver" && after[name] == pid:
			return fmt.Errorf("kube-apiserver still has its old PID %d", pid)
		case name == "kube-apiserver" && !alive(after[name]):
			return fmt.Errorf("kube-apiserver did not start")
		case name != "kube-apiserver" && after[name] != pid:
			return fmt.Errorf("`hack/local-cluster.sh up` restarted %s too (PID %d -> %d)", name, pid, after[name])
		}
	}
	return nil
}

// localClusterUp runs `hack/local-cluster.sh up`, retrying while another
// command of the script holds its lock (the cluster is shared).
func (f *Framework) localClusterUp() error {
	var out []byte
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		cmd := exec.Command(filepath.Join(f.Root, "hack/local-cluster.sh"), "up")
		cmd.Dir = f.Root
		out, err = cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "is running on") {
			break
		}
		time.Sleep(time.Second) // the lock holder is a short command (load-image, up)
	}
	if err != nil {
		return fmt.Errorf("hack/local-cluster.sh up: %w: %s", err, out)
	}
	return nil
}

// stopProcess sends SIGTERM, and SIGKILL if pid still runs after grace.
func stopProcess(pid int, grace time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return err
	}
	if waitDead(pid, grace) == nil {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	return waitDead(pid, 10*time.Second)
}
