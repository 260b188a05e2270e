//go:build e2e

// Package framework drives the end-to-end suite: the real local cluster,
// the operator deployed by its own manifests, and kubectl and psql as a user
// runs them.
package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned"
)

// Framework holds the clients of one e2e run.
type Framework struct {
	Root       string // repository root
	Kubeconfig string
	Kubectl    string
	Kube       kubernetes.Interface
	PG         versioned.Interface
}

// New connects to the cluster named by E2E_KUBECONFIG and E2E_KUBECTL, which
// hack/e2e.sh sets. A missing variable fails the run: the suite never skips
// silently.
func New(t testing.TB) *Framework {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	f := &Framework{Root: root, Kubeconfig: os.Getenv("E2E_KUBECONFIG"), Kubectl: os.Getenv("E2E_KUBECTL")}
	require.NotEmpty(t, f.Kubeconfig, "E2E_KUBECONFIG is not set: run the suite through hack/e2e.sh (make test-e2e)")
	require.NotEmpty(t, f.Kubectl, "E2E_KUBECTL is not set: run the suite through hack/e2e.sh (make test-e2e)")
	cfg, err := clientcmd.BuildConfigFromFlags("", f.Kubeconfig)
	require.NoError(t, err)
	cfg.QPS, cfg.Burst = 50, 100
	f.Kube = kubernetes.NewForConfigOrDie(cfg)
	f.PG = versioned.NewForConfigOrDie(cfg)
	return f
}

// KubectlResult is what one kubectl run printed.
type KubectlResult struct {
	Stdout, Stderr string
	Err            error
}

// Run runs kubectl with stdin and returns its output without failing.
func (f *Framework) Run(stdin string, args ...string) KubectlResult {
	return f.run("", stdin, args...)
}

// RunIn runs kubectl in dir (for relative paths such as manifests/).
func (f *Framework) RunIn(dir string, args ...string) KubectlResult {
	return f.run(dir, "", args...)
}

func (f *Framework) run(dir, stdin string, args ...string) KubectlResult {
	cmd := exec.Command(f.Kubectl, append([]string{"--kubeconfig", f.Kubeconfig}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return KubectlResult{Stdout: out.String(), Stderr: errOut.String(), Err: err}
}

// Kubectl runs kubectl and fails the test if it fails.
func (f *Framework) KubectlOK(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	r := f.Run(stdin, args...)
	require.NoError(t, r.Err, "kubectl %s: %s", strings.Join(args, " "), r.Stderr)
	return r.Stdout
}

// Namespace creates a fresh namespace deleted when the test ends (after
// the test has printed diagnostics if it failed).
func (f *Framework) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	ns, err := f.Kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			f.Diagnose(t, ns.Name)
			logRecap(t)
		}
		_ = f.Kube.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

// Diagnose logs what a user would look at when a test fails.
func (f *Framework) Diagnose(t testing.TB, ns string) {
	t.Logf("--- diagnostics for namespace %s", ns)
	for _, args := range [][]string{
		{"-n", ns, "get", "pgc,pods,pvc,svc,endpoints", "-o", "wide"},
		{"-n", ns, "describe", "pgc"},
		{"-n", ns, "get", "events", "--sort-by=.lastTimestamp"},
		{"-n", ns, "logs", "-l", "postgres-operator.dev/cluster", "--tail=30", "--all-containers", "--prefix"},
		// Both operator pods: the leader acts, the standby says it waits.
		{"-n", "postgres-operator", "logs", "-l", operatorSelector, "--tail=80", "--prefix"},
	} {
		r := f.Run("", args...)
		t.Logf("$ kubectl %s\n%s%s", strings.Join(args, " "), r.Stdout, r.Stderr)
	}
}

// Eventually polls cond every interval until it returns true or timeout
// passes; the last error explains a timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			Fatalf(t, "timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Errorf is a shorthand for building a condition's reason.
func Errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
