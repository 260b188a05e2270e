package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned"
)

// env is what every scenario needs: API clients and the paths of the
// command-line tools the benchmark drives as a user would.
type env struct {
	opts *options
	kube kubernetes.Interface
	pg   versioned.Interface
	// namespaces created by this run, deleted at the end unless --keep.
	namespaces []string
	// settleLog is what the last settle waited for, when it changed.
	settleLog []string
}

func newEnv(o *options) (*env, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", o.kubeconfig, err)
	}
	// The benchmark polls and watches; it must never be the one throttled.
	cfg.QPS, cfg.Burst = 200, 400
	cfg.UserAgent = "postgres-operator-bench"
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	pg, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &env{opts: o, kube: kube, pg: pg}, nil
}

// logf prints a progress line with the wall-clock time.
func logf(format string, args ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// namespace creates a fresh namespace for one scenario.
func (e *env) namespace(ctx context.Context, prefix string) (string, error) {
	ns, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-" + prefix + "-", Labels: map[string]string{"postgres-operator.dev/bench": "true"}},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating a namespace: %w", err)
	}
	e.namespaces = append(e.namespaces, ns.Name)
	return ns.Name, nil
}

// cleanup deletes the scenario namespaces (their PostgresClusters first, so
// the operator's owner references tear the members down in order).
func (e *env) cleanup(ctx context.Context) {
	if e.opts.keep {
		logf("--keep: leaving namespaces %v", e.namespaces)
		return
	}
	for _, ns := range e.namespaces {
		// Clusters first, and gone, so the operator is not left acting in
		// a terminating namespace.
		_ = e.pg.PostgresV1alpha1().PostgresClusters(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		_ = poll(ctx, time.Minute, time.Second, func() (bool, error) {
			l, err := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return err == nil && len(l.Items) == 0, err
		})
		err := e.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			logf("deleting namespace %s: %v", ns, err)
		}
	}
}

// kubectl runs kubectl with the benchmark's kubeconfig.
func (e *env) kubectl(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.opts.kubectl, append([]string{"--kubeconfig", e.opts.kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// ctr runs containerd's ctr against the node's containerd, namespace k8s.io.
func (e *env) ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", e.opts.ctrAddress, "-n", "k8s.io"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// diagnose prints what an engineer would look at when a run fails.
func (e *env) diagnose(ns, cluster string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fmt.Printf("---- diagnostics for %s/%s\n", ns, cluster)
	for _, args := range [][]string{
		{"-n", ns, "get", "pgc,pods,pvc", "-o", "wide"},
		{"-n", ns, "get", "pgc", cluster, "-o", "jsonpath={range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{\"\\n\"}{end}"},
		{"-n", ns, "get", "events", "--sort-by=.lastTimestamp"},
		{"-n", ns, "logs", "-l", "postgres-operator.dev/cluster=" + cluster, "--tail=15", "--prefix"},
		{"-n", "postgres-operator", "logs", "-l", "app.kubernetes.io/name=postgres-operator", "--prefix", "--since=3m"},
	} {
		out, err := e.kubectl(ctx, "", args...)
		if args[len(args)-1] == "--since=3m" {
			out = grepLines(out, ns+"/"+cluster, 40)
		}
		fmt.Printf("$ kubectl %s\n%s", strings.Join(args, " "), out)
		if err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println("---- end of diagnostics")
}

// grepLines keeps the last n lines containing s.
func grepLines(text, s string, n int) string {
	var keep []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	if len(keep) == 0 {
		return ""
	}
	return strings.Join(keep, "\n") + "\n"
}

// mustEnv returns an environment variable or a default.
func mustEnv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
