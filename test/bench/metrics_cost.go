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

// The cost of the metrics: the same N idle size-1 clusters measured
// twice by the leading operator's CPU and RSS over a window, once as
// deployed (metrics on, PostgreSQL statistics read every 30 s, /metrics
// scraped every 15 s as Prometheus would) and once with --metrics-addr=
// (no metrics, no statistics reads). The Deployment's arguments are put
// back afterwards.

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
	on, off costWindow
}

func (e *env) runMetricsCost(ctx context.Context) (*metricsCost, error) {
	ns, err := e.namespace(ctx, "metrics")
	if err != nil {
		return nil, err
	}
	r := &metricsCost{n: e.opts.idleClusters}
	for i := 1; i <= r.n; i++ {
		c := newCluster(ns, fmt.Sprintf("m-%d", i), 1, v1alpha1.ReplicationAsync)
		if _, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	for i := 1; i <= r.n; i++ {
		if _, _, err := e.waitReady(ctx, ns, fmt.Sprintf("m-%d", i), e.opts.timeout+time.Duration(r.n)*10*time.Second); err != nil {
			return nil, err
		}
	}
	if r.on, err = e.costWindow(ctx, true); err != nil {
		return nil, err
	}
	restore, err := e.setOperatorArg(ctx, "--metrics-addr=")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := restore(context.Background()); err != nil {
			logf("metrics: putting the operator's arguments back failed: %v", err)
		}
	}()
	if r.off, err = e.costWindow(ctx, false); err != nil {
		return nil, err
	}
	return r, nil
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
	lease, err := e.kube.CoordinationV1().Leases(operatorNamespace).Get(ctx, "postgres-operator", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return "", fmt.Errorf("reading the leader Lease: %v", err)
	}
	pod, err := e.kube.CoreV1().Pods(operatorNamespace).Get(ctx, *lease.Spec.HolderIdentity, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return pod.Status.PodIP + ":8080", nil
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

// setOperatorArg appends an argument to the operator's container, waits
// for a new leader running it, and returns how to put the arguments back.
func (e *env) setOperatorArg(ctx context.Context, arg string) (func(context.Context) error, error) {
	deps := e.kube.AppsV1().Deployments(operatorNamespace)
	d, err := deps.Get(ctx, "postgres-operator", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	original := d.Spec.Template.Spec.Containers[0].Args
	set := func(ctx context.Context, args []string) error {
		leader := e.operatorIdentity(ctx)
		patch, _ := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": args}})
		if _, err := deps.Patch(ctx, "postgres-operator", types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
			return err
		}
		return poll(ctx, 3*time.Minute, time.Second, func() (bool, error) {
			return e.operatorIdentity(ctx) != leader && e.leaderRunsArgs(ctx, args), nil
		})
	}
	if err := set(ctx, append(append([]string{}, original...), arg)); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return set(ctx, original) }, nil
}

// leaderRunsArgs: the pod holding the Lease runs these arguments.
func (e *env) leaderRunsArgs(ctx context.Context, args []string) bool {
	lease, err := e.kube.CoordinationV1().Leases(operatorNamespace).Get(ctx, "postgres-operator", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return false
	}
	pod, err := e.kube.CoreV1().Pods(operatorNamespace).Get(ctx, *lease.Spec.HolderIdentity, metav1.GetOptions{})
	if err != nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	return fmt.Sprint(pod.Spec.Containers[0].Args) == fmt.Sprint(args)
}

func metricsCostTable(r *metricsCost) *table {
	t := newTable(fmt.Sprintf("Cost of the metrics, operator with %d idle clusters", r.n),
		"operator", "CPU (% of a core)", "RSS mean", "/metrics scrapes", "series")
	t.add("metrics on (statistics every 30 s, scraped every 15 s)", fmt.Sprintf("%.2f %%", r.on.cpuPercent()), mib(r.on.rssMean),
		fmt.Sprint(r.on.scrapes), fmt.Sprint(r.on.series))
	t.add("--metrics-addr= (off)", fmt.Sprintf("%.2f %%", r.off.cpuPercent()), mib(r.off.rssMean), "-", "-")
	delta := r.on.cpuPercent() - r.off.cpuPercent()
	t.note("metrics add %.2f points of a core (%s of the operator's CPU without them), %.3f per member;",
		delta, pct(r.on.cpuPercent(), r.off.cpuPercent()), delta/float64(r.n))
	t.note("  windows of %s each, after a quiet period; the goal (issue 11) is < 5 %% more CPU.", r.on.window.Round(time.Second))
	return t
}
