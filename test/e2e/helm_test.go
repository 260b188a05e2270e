//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

const (
	// helmRelease is not named like the chart, so its objects are named
	// "<release>-postgres-operator" and none of its cluster-scoped ones
	// (ClusterRole, admission policy) is one `make deploy` installed.
	helmRelease  = "pgo-helm"
	helmFullname = helmRelease + "-postgres-operator"
	// The operator's Lease: one per namespace, whatever installed it.
	operatorLeaseName = "postgres-operator"
	operatorSelector  = "app.kubernetes.io/name=postgres-operator"
)

// helmValues install the operator as hack/deploy.sh does: the image
// `make image` built and loaded into the local cluster, and the local
// PostgreSQL images (hack/local-overlay's --postgres-image-template).
const helmValues = `
image:
  repository: localhost/postgres-operator
  tag: dev
  pullPolicy: IfNotPresent
postgresImageTemplate: "localhost/postgres:{version}"
`

// `helm install` of charts/postgres-operator gives a working operator: it
// leads, and runs the demo cluster (`make demo`'s manifest) to Ready. The
// CRDs exist already (make deploy installed them): helm leaves them be on
// install and on `helm uninstall`, which removes everything else.
func TestHelmInstall(t *testing.T) {
	f := setup(t)
	helm := helmCLI(t, f)
	stopDeployedOperator(t, f)

	opNS := f.Namespace(t, "helm-operator")
	// Registered after the namespace, so it runs before its deletion.
	t.Cleanup(func() { helmUninstall(t, f, helm, opNS) })
	t.Cleanup(func() {
		if t.Failed() {
			r := f.Run("", "-n", opNS, "logs", "-l", operatorSelector, "--tail=80", "--prefix")
			t.Logf("helm-installed operator's logs:\n%s%s", r.Stdout, r.Stderr)
		}
	})
	values := filepath.Join(t.TempDir(), "values.yaml")
	require.NoError(t, os.WriteFile(values, []byte(helmValues), 0o644))

	start := time.Now()
	out, err := helm("install", helmRelease, filepath.Join(f.Root, "charts/postgres-operator"),
		"--namespace", opNS, "--values", values, "--wait", "--timeout", "3m")
	require.NoError(t, err, out)
	leader := waitLeaseHolder(t, f, opNS, 2*time.Minute)
	t.Logf("helm install: %s leads %s after the install began", leader, time.Since(start).Round(100*time.Millisecond))
	_, err = f.Kube.CoreV1().Services(opNS).Get(context.Background(), helmFullname+"-metrics", metav1.GetOptions{})
	assert.NoError(t, err, "the metrics Service")
	_, err = f.Kube.PolicyV1().PodDisruptionBudgets(opNS).Get(context.Background(), helmFullname, metav1.GetOptions{})
	assert.NoError(t, err, "PodDisruptionBudget")

	// `make demo`'s cluster, as it creates it.
	ns := f.Namespace(t, "helm-demo")
	manifest, err := os.ReadFile(filepath.Join(f.Root, "manifests/examples/minimal.yaml"))
	require.NoError(t, err)
	f.KubectlOK(t, string(manifest), "-n", ns, "apply", "-f", "-")
	pgc := f.WaitReady(t, ns, "demo", lifecycleReadyTimeout)
	assert.Equal(t, "localhost/postgres:15", f.Pod(t, ns, pgc.Status.Primary).Spec.Containers[0].Image,
		"the chart's postgresImageTemplate reached the operator")
	// The helm-installed operator did it (make deploy's has no pod now).
	logs := f.KubectlOK(t, "", "-n", opNS, "logs", leader)
	assert.Regexp(t, `"Action applied" cluster="`+ns+`/demo" action="CreateMember"`, logs)

	helmUninstall(t, f, helm, opNS)
	f.KubectlOK(t, "", "get", "crd", "postgresclusters.postgres-operator.dev", "postgresbackups.postgres-operator.dev")
	f.Cluster(t, ns, "demo") // its CRD kept, the cluster is kept too
	_, err = f.Kube.RbacV1().ClusterRoles().Get(context.Background(), helmFullname, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the release's ClusterRole is gone: %v", err)
	_, err = f.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(context.Background(),
		helmFullname+"-deletion-protection", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the release's admission policy is gone: %v", err)
}

// helmCLI builds helm (hack/helm.sh; a failed build fails the test) and
// returns a function that runs it against the local cluster.
func helmCLI(t *testing.T, f *framework.Framework) func(args ...string) (string, error) {
	t.Helper()
	script := filepath.Join(f.Root, "hack/helm.sh")
	start := time.Now()
	out, err := exec.Command(script, "build").CombinedOutput()
	require.NoError(t, err, "%s build: %s", script, out)
	t.Logf("helm built in %s", time.Since(start).Round(100*time.Millisecond))
	return func(args ...string) (string, error) {
		cmd := exec.Command(script, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+f.Kubeconfig)
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("helm %s: %w", strings.Join(args, " "), err)
		}
		return string(out), err
	}
}

// helmUninstall removes the release, if it is there, and waits until its
// operator pods are gone, so that no two operators act at once.
func helmUninstall(t *testing.T, f *framework.Framework, helm func(...string) (string, error), ns string) {
	t.Helper()
	out, err := helm("uninstall", helmRelease, "--namespace", ns, "--ignore-not-found",
		"--cascade", "foreground", "--wait", "--timeout", "2m")
	require.NoError(t, err, out)
	waitNoOperatorPods(t, f, ns)
}

// stopDeployedOperator scales `make deploy`'s operator to zero while the
// test runs, and back, leading again, when it ends.
func stopDeployedOperator(t *testing.T, f *framework.Framework) {
	t.Helper()
	ns := framework.OperatorNamespace
	deps := f.Kube.AppsV1().Deployments(ns)
	dep, err := deps.Get(context.Background(), "postgres-operator", metav1.GetOptions{})
	require.NoError(t, err)
	replicas := *dep.Spec.Replicas
	t.Cleanup(func() {
		f.KubectlOK(t, "", "-n", ns, "scale", "deployment/postgres-operator", fmt.Sprintf("--replicas=%d", replicas))
		framework.Eventually(t, 2*time.Minute, "make deploy's operator back and leading", func() (bool, error) {
			d, err := deps.Get(context.Background(), "postgres-operator", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			_, leaseErr := f.LeaseHolder()
			return d.Status.ReadyReplicas == replicas && leaseErr == nil,
				framework.Errorf("ready %d/%d, lease: %v", d.Status.ReadyReplicas, replicas, leaseErr)
		})
	})
	f.KubectlOK(t, "", "-n", ns, "scale", "deployment/postgres-operator", "--replicas=0")
	waitNoOperatorPods(t, f, ns)
}

func waitNoOperatorPods(t *testing.T, f *framework.Framework, ns string) {
	t.Helper()
	framework.Eventually(t, 2*time.Minute, "no operator pod in "+ns, func() (bool, error) {
		pods, err := f.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: operatorSelector})
		if err != nil {
			return false, err
		}
		var names []string
		for _, p := range pods.Items {
			names = append(names, p.Name)
		}
		return len(names) == 0, framework.Errorf("pods %v", names)
	})
}

// waitLeaseHolder waits until the operator's Lease in ns names a running
// pod that is not on its way out, and returns that pod.
func waitLeaseHolder(t *testing.T, f *framework.Framework, ns string, timeout time.Duration) string {
	t.Helper()
	var holder string
	framework.Eventually(t, timeout, "an operator pod in "+ns+" holding the Lease", func() (bool, error) {
		lease, err := f.Kube.CoordinationV1().Leases(ns).Get(context.Background(), operatorLeaseName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return false, framework.Errorf("nobody holds the Lease")
		}
		holder = *lease.Spec.HolderIdentity
		pod, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), holder, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return pod.DeletionTimestamp == nil && pod.Status.Phase == "Running", framework.Errorf("holder %s: %s", holder, pod.Status.Phase)
	})
	return holder
}
