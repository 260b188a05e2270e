package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// The cost of the metrics: the same N idle size-1 clusters measured by
// the leading operator's CPU and RSS over windows that alternate between
// metrics on (as deployed: PostgreSQL statistics read every 30 s,
// /metrics scraped every 15 s as Prometheus would) and --metrics-addr=
// (no metrics, no statistics reads), each after a fresh operator start.
// One pair of windows is within the noise of one operator run against
// another (which connections a pass renews, where a collection falls),
// so the figures are the means of --metrics-pairs pairs. The
// Deployment's arguments are put back afterwards.

type costWindow struct {
	cpuSeconds float64
	window     time.Duration
	rssMean    int64
	scrapes    int
	series     int
}

func (w costWindow) cpuPercent() float64 { return 100 * w.cpuSeconds / w.window.Seconds() }

type metricsCost struct {
	n       int
	on, off []costWindow
}

func (e *env) runMetricsCost(ctx context.Context) (*metricsCost, error) {
	ns, err := e.namespace(ctx, "metrics")
	if err != nil {
		return nil, err
	}
	r := &metricsCost{n: e.opts.idleClusters}
	if err := e.createIdleClusters(ctx, ns, r.n); err != nil {
		return nil, err
	}
	original, err := e.operatorArgs(ctx)
	if err != nil {
		return nil, err
	}
	off := append(append([]string{}, original...), "--metrics-addr=")
	defer func() {
		if err := e.setOperatorArgs(context.Background(), original); err != nil {
			logf("metrics: putting the operator's arguments back failed: %v", err)
		}
	}()
	for i := 0; i < e.opts.metricsPairs; i++ {
		// Off first, so that every window follows a fresh operator start.
		if err := e.setOperatorArgs(ctx, off); err != nil {
			return nil, err
		}
		offW, err := e.costWindow(ctx, false)
		if err != nil {
			return nil, err
		}
		if err := e.setOperatorArgs(ctx, original); err != nil {
			return nil, err
		}
		onW, err := e.costWindow(ctx, true)
		if err != nil {
			return nil, err
		}
		r.on, r.off = append(r.on, onW), append(r.off, offW)
		logf("metrics: pair %d: on %.2f %%, off %.2f %% of a core", i+1, onW.cpuPercent(), offW.cpuPercent())
	}
	return r, nil
}

// createIdleClusters creates n size-1 clusters and waits until all are Ready.
func (e *env) createIdleClusters(ctx context.Context, ns string, n int) error {
	for i := 1; i <= n; i++ {
		c := newCluster(ns, fmt.Sprintf("m-%d", i), 1, v1alpha1.ReplicationAsync)
		if _, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for i := 1; i <= n; i++ {
		if _, _, err := e.waitReady(ctx, ns, fmt.Sprintf("m-%d", i), e.opts.timeout+time.Duration(n)*10*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// costWindow waits for quiet, then measures the leading operator.
func (e *env) costWindow(ctx context.Context, scrape bool) (costWindow, error) {
	var w costWindow
	select {
	case <-ctx.Done():
		return w, ctx.Err()
	case <-time.After(e.opts.quiet + 30*time.Second): // past a start's first statistics round
	}
	pid, err := e.operatorPID(ctx)
	if err != nil {
		return w, err
	}
	addr, err := e.leaderMetricsAddr(ctx)
	if err != nil {
		return w, err
	}
	p0, err := readProc(pid)
	if err != nil {
		return w, err
	}
	start := time.Now()
	var rssSum, n int64
	for time.Since(start) < e.opts.steady {
		if scrape && int(time.Since(start)/(15*time.Second)) >= w.scrapes {
			if series, err := scrapeSeries(ctx, addr); err == nil {
				w.scrapes, w.series = w.scrapes+1, series
			}
		}
		time.Sleep(time.Second) // the sampling period of RSS
		if p, err := readProc(pid); err == nil {
			rssSum += p.rss
			n++
		}
	}
	p1, err := readProc(pid)
	if err != nil {
		return w, err
	}
	w.window = time.Since(start)
	w.cpuSeconds = float64(p1.cpuTicks-p0.cpuTicks) / userHZ
	if n > 0 {
		w.rssMean = rssSum / n
	}
	return w, nil
}

func (e *env) leaderMetricsAddr(ctx context.Context) (string, error) {
	ip, err := e.leaderAddr(ctx, operatorNamespace)
	return ip + ":8080", err
}

// leaderPod is the pod holding Lease name (a Deployment and its Lease
// share the name: postgres-operator, postgres-operator-shard-b).
func (e *env) leaderPod(ctx context.Context, name string) (*corev1.Pod, error) {
	lease, err := e.kube.CoordinationV1().Leases(operatorNamespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return nil, fmt.Errorf("reading the Lease %s: %v", name, err)
	}
	return e.kube.CoreV1().Pods(operatorNamespace).Get(ctx, *lease.Spec.HolderIdentity, metav1.GetOptions{})
}

// leaderAddr is the pod IP of Lease name's holder.
func (e *env) leaderAddr(ctx context.Context, name string) (string, error) {
	pod, err := e.leaderPod(ctx, name)
	if err != nil {
		return "", err
	}
	return pod.Status.PodIP, nil
}

// leaderPID is the process of Lease name's holder on this node.
func (e *env) leaderPID(ctx context.Context, name string) (int, error) {
	pod, err := e.leaderPod(ctx, name)
	if err != nil {
		return 0, err
	}
	id, err := containerID(pod)
	if err != nil {
		return 0, err
	}
	return e.containerInit(ctx, id)
}

// scrapeSeries GETs /metrics and counts its samples.
func scrapeSeries(ctx context.Context, addr string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" && line[0] != '#' {
			n++
		}
	}
	return n, nil
}

// operatorArgs reads the default operator container's arguments.
func (e *env) operatorArgs(ctx context.Context) ([]string, error) {
	return e.deploymentArgs(ctx, operatorNamespace)
}

// deploymentArgs reads the arguments of Deployment name's operator container.
func (e *env) deploymentArgs(ctx context.Context, name string) ([]string, error) {
	d, err := e.kube.AppsV1().Deployments(operatorNamespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return d.Spec.Template.Spec.Containers[0].Args, nil
}

// setOperatorArgs gives the default operator these arguments.
func (e *env) setOperatorArgs(ctx context.Context, args []string) error {
	return e.setDeploymentArgs(ctx, operatorNamespace, args)
}

// setDeploymentArgs gives Deployment name's container these arguments and
// waits for a new leader running them (nothing to wait for when they are
// already the running ones).
func (e *env) setDeploymentArgs(ctx context.Context, name string, args []string) error {
	if e.leaderRunsArgs(ctx, name, args) {
		return nil
	}
	return e.restartDeployment(ctx, name, args)
}

// restartDeployment rolls Deployment name out with these arguments, even
// when they are the running ones, and waits for a new leader running them.
func (e *env) restartDeployment(ctx context.Context, name string, args []string) error {
	leader := e.leaderIdentity(ctx, name)
	patch, _ := json.Marshal([]map[string]any{
		{"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": args},
		{"op": "add", "path": "/spec/template/metadata/annotations", "value": map[string]string{
			"bench.postgres-operator.dev/restarted": time.Now().Format(time.RFC3339Nano)}},
	})
	if _, err := e.kube.AppsV1().Deployments(operatorNamespace).Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		return err
	}
	return poll(ctx, 3*time.Minute, time.Second, func() (bool, error) {
		return e.leaderIdentity(ctx, name) != leader && e.leaderRunsArgs(ctx, name, args), nil
	})
}

// leaderIdentity names Lease name's holder process: pod and start time.
func (e *env) leaderIdentity(ctx context.Context, name string) string {
	pod, err := e.leaderPod(ctx, name)
	if err != nil {
		return "unknown"
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Running != nil {
			return fmt.Sprintf("%s started %s", pod.Name, cs.State.Running.StartedAt.Format("15:04:05"))
		}
	}
	return pod.Name
}

// leaderRunsArgs: the pod holding Lease name runs these arguments.
func (e *env) leaderRunsArgs(ctx context.Context, name string, args []string) bool {
	pod, err := e.leaderPod(ctx, name)
	if err != nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	return fmt.Sprint(pod.Spec.Containers[0].Args) == fmt.Sprint(args)
}

func metricsCostTable(r *metricsCost) *table {
	t := newTable(fmt.Sprintf("Cost of the metrics, operator with %d idle clusters", r.n),
		"operator", "CPU (% of a core)", "RSS mean", "/metrics scrapes", "series")
	for i := range r.on {
		on, off := r.on[i], r.off[i]
		t.add(fmt.Sprintf("pair %d: metrics on (statistics every 30 s, scraped every 15 s)", i+1),
			fmt.Sprintf("%.2f %%", on.cpuPercent()), mib(on.rssMean), fmt.Sprint(on.scrapes), fmt.Sprint(on.series))
		t.add(fmt.Sprintf("pair %d: --metrics-addr= (off)", i+1), fmt.Sprintf("%.2f %%", off.cpuPercent()), mib(off.rssMean), "-", "-")
	}
	on, off := meanCPUPercent(r.on), meanCPUPercent(r.off)
	delta := on - off
	t.note("mean of %d pairs: on %.3f %%, off %.3f %%: metrics add %.3f points of a core (%s of the operator's CPU without them), %.4f per member;",
		len(r.on), on, off, delta, pct(on, off), delta/float64(r.n))
	if len(r.on) > 0 {
		t.note("  windows of %s each, after a fresh operator start and a quiet period; the goal (issue 11) is < 5 %% more CPU.", r.on[0].window.Round(time.Second))
	}
	return t
}

func meanCPUPercent(ws []costWindow) float64 {
	ps := make([]float64, len(ws))
	for i, w := range ws {
		ps[i] = w.cpuPercent()
	}
	return mean(ps) // metrics_twins.go
}
