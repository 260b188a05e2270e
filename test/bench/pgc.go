package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

const (
	clusterLabel = "postgres-operator.dev/cluster"
	roleLabel    = "postgres-operator.dev/role"
	fencedAnno   = "postgres-operator.dev/fenced"
)

// newCluster is the PostgresCluster the benchmark creates: the README's
// minimal example with a size and a replication mode.
func newCluster(ns, name string, size int32, mode v1alpha1.ReplicationMode) *v1alpha1.PostgresCluster {
	return &v1alpha1.PostgresCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.PostgresClusterSpec{
			Size:            size,
			PostgresVersion: 15,
			Storage:         v1alpha1.StorageSpec{Size: resource.MustParse("1Gi")},
			Replication:     v1alpha1.ReplicationSpec{Mode: mode},
			// The bench's writer and probes log in as the superuser from
			// the host, over TLS like every client.
			SuperuserAccess: true,
		},
	}
}

// clusterReady is the Ready definition of the whole benchmark: condition
// Ready=True for the current generation, phase Running and every member ready.
func clusterReady(p *v1alpha1.PostgresCluster) bool {
	st := p.Status
	return meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady) &&
		st.ObservedGeneration == p.Generation && st.Phase == v1alpha1.PhaseRunning &&
		st.ReadyMembers == p.Spec.Size && st.Size == p.Spec.Size
}

// waitCluster watches one PostgresCluster until cond holds and returns the
// time the event that satisfied it arrived (watch resolution, not polling).
func (e *env) waitCluster(ctx context.Context, ns, name string, timeout time.Duration, cond func(*v1alpha1.PostgresCluster) bool) (*v1alpha1.PostgresCluster, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api := e.pg.PostgresV1alpha1().PostgresClusters(ns)
	sel := "metadata.name=" + name
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return api.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return api.Watch(ctx, o)
		},
	}
	var last *v1alpha1.PostgresCluster
	var at time.Time
	_, err := watchtools.UntilWithSync(ctx, lw, &v1alpha1.PostgresCluster{}, nil, func(ev watch.Event) (bool, error) {
		p, ok := ev.Object.(*v1alpha1.PostgresCluster)
		if !ok || ev.Type == watch.Deleted {
			return false, nil
		}
		last = p
		if cond(p) {
			at = time.Now()
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return last, time.Time{}, fmt.Errorf("waiting for %s/%s: %w (last status: %s)", ns, name, err, describeStatus(last))
	}
	return last, at, nil
}

func (e *env) waitReady(ctx context.Context, ns, name string, timeout time.Duration) (*v1alpha1.PostgresCluster, time.Time, error) {
	return e.waitCluster(ctx, ns, name, timeout, clusterReady)
}

func describeStatus(p *v1alpha1.PostgresCluster) string {
	if p == nil {
		return "none seen"
	}
	st := p.Status
	s := fmt.Sprintf("phase=%s ready=%d/%d primary=%s", st.Phase, st.ReadyMembers, p.Spec.Size, st.Primary)
	for _, c := range st.Conditions {
		if c.Type == v1alpha1.ConditionProgressing || (c.Type == v1alpha1.ConditionReady && c.Status != metav1.ConditionTrue) {
			s += fmt.Sprintf("; %s=%s: %s", c.Type, c.Status, c.Message)
		}
	}
	return s
}

// deleteCluster deletes a PostgresCluster and waits until its pods and
// volumes are gone, so the next run does not share the machine with them.
func (e *env) deleteCluster(ctx context.Context, ns, name string) error {
	err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil {
		return err
	}
	sel := metav1.ListOptions{LabelSelector: clusterLabel + "=" + name}
	return poll(ctx, 120*time.Second, 200*time.Millisecond, func() (bool, error) {
		pods, err := e.kube.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			return false, err
		}
		pvcs, err := e.kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, sel)
		if err != nil {
			return false, err
		}
		if n := len(pods.Items) + len(pvcs.Items); n > 0 {
			return false, fmt.Errorf("%d pods and %d volumes left", len(pods.Items), len(pvcs.Items))
		}
		return true, nil
	})
}

// poll calls cond every interval until it holds or timeout passes.
func poll(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s (last: %v)", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// password reads the cluster's superuser password from its Secret.
func (e *env) password(ctx context.Context, ns, cluster string) (string, error) {
	s, err := e.kube.CoreV1().Secrets(ns).Get(ctx, cluster+"-superuser", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return string(s.Data["password"]), nil
}

// rwAddress is the ClusterIP of the cluster's -rw Service.
func (e *env) rwAddress(ctx context.Context, ns, cluster string) (string, error) {
	svc, err := e.kube.CoreV1().Services(ns).Get(ctx, cluster+"-rw", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return svc.Spec.ClusterIP, nil
}

// memberPods lists the cluster's member pods.
func (e *env) memberPods(ctx context.Context, ns, cluster string) ([]corev1.Pod, error) {
	l, err := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: clusterLabel + "=" + cluster})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// containerID is the containerd ID of a pod's first container.
func containerID(p *corev1.Pod) (string, error) {
	for _, cs := range p.Status.ContainerStatuses {
		const prefix = "containerd://"
		if len(cs.ContainerID) > len(prefix) && cs.State.Running != nil {
			return cs.ContainerID[len(prefix):], nil
		}
	}
	return "", fmt.Errorf("pod %s has no running container", p.Name)
}

// settle waits until the cluster is Ready, no member pod is terminating
// and the primary sees every other member streaming: the state a fault
// must start from. It polls every 100 ms and returns when that held.
func (e *env) settle(ctx context.Context, ns, name, password string, timeout time.Duration) (time.Time, error) {
	var at time.Time
	start, last := time.Now(), ""
	e.settleLog = nil
	nextDump := 15 * time.Second
	err := poll(ctx, timeout, 100*time.Millisecond, func() (ok bool, err error) {
		defer func() {
			// Keep what settling waited for, for traces of slow runs.
			if msg := fmt.Sprint(err); !ok && msg != last {
				last = msg
				e.settleLog = append(e.settleLog, fmt.Sprintf("+%.1fs %s", time.Since(start).Seconds(), msg))
			}
			// A member that takes long to be ready or to stream is the usual
			// cause of a slow settle: keep its log before it is replaced.
			if !ok && time.Since(start) > nextDump {
				nextDump *= 2
				e.settleLog = append(e.settleLog, e.laggardLogs(ctx, ns, name, password, time.Since(start))...)
			}
		}()
		p, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if !clusterReady(p) {
			return false, fmt.Errorf("not Ready: %s", describeStatus(p))
		}
		ok, err = e.streamingToAll(ctx, ns, name, password, int(p.Spec.Size))
		if ok {
			at = time.Now()
		}
		return ok, err
	})
	return at, err
}

// laggardLogs returns the log tails of the member pods that are not ready
// or that the primary does not see streaming.
func (e *env) laggardLogs(ctx context.Context, ns, name, password string, after time.Duration) []string {
	pods, err := e.memberPods(ctx, ns, name)
	if err != nil {
		return nil
	}
	streaming := map[string]bool{}
	for i := range pods {
		if pods[i].Labels[roleLabel] == "primary" && pods[i].DeletionTimestamp == nil {
			streaming, _ = pgTarget{host: pods[i].Status.PodIP, password: password}.streamingStandbys(ctx)
			streaming[pods[i].Name] = true
		}
	}
	var out []string
	for i := range pods {
		p := &pods[i]
		if podReady(p) && streaming[p.Name] {
			continue
		}
		log, _ := e.kubectl(ctx, "", "-n", ns, "logs", p.Name, "--tail=20")
		out = append(out, fmt.Sprintf("+%.1fs log of %s (ready %t, streaming %t):\n%s",
			after.Seconds(), p.Name, podReady(p), streaming[p.Name], indent(log, "      | ")))
	}
	return out
}

// streamingToAll checks the pods: size of them, all Ready, none being
// deleted, one labelled primary which streams to all the others.
func (e *env) streamingToAll(ctx context.Context, ns, name, password string, size int) (bool, error) {
	pods, err := e.memberPods(ctx, ns, name)
	if err != nil {
		return false, err
	}
	if len(pods) != size {
		return false, fmt.Errorf("%d pods, want %d", len(pods), size)
	}
	var primary *corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || !podReady(p) {
			return false, fmt.Errorf("pod %s not ready", p.Name)
		}
		if p.Labels[roleLabel] == "primary" {
			if primary != nil {
				return false, fmt.Errorf("two pods labelled primary: %s, %s", primary.Name, p.Name)
			}
			primary = p
		}
	}
	if primary == nil {
		return false, fmt.Errorf("no pod labelled primary")
	}
	streaming, err := pgTarget{host: primary.Status.PodIP, password: password}.streamingStandbys(ctx)
	if err != nil {
		return false, err
	}
	for _, p := range pods {
		if p.Name != primary.Name && !streaming[p.Name] {
			return false, notStreaming{pod: p.Name, primary: primary.Name}
		}
	}
	return true, nil
}

// notStreaming says which replica the primary does not see streaming.
type notStreaming struct{ pod, primary string }

func (n notStreaming) Error() string { return n.pod + " is not streaming from " + n.primary }

func indent(text, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(text, "\n"), "\n", "\n"+prefix)
}
