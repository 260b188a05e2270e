//go:build e2e

package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Cluster fetches a PostgresCluster.
func (f *Framework) Cluster(t testing.TB, ns, name string) *v1alpha1.PostgresCluster {
	t.Helper()
	pgc, err := f.PG.PostgresV1alpha1().PostgresClusters(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return pgc
}

// WaitReady waits until the cluster's Ready condition is True for the
// current generation, with size members ready.
func (f *Framework) WaitReady(t testing.TB, ns, name string, timeout time.Duration) *v1alpha1.PostgresCluster {
	t.Helper()
	var pgc *v1alpha1.PostgresCluster
	Eventually(t, timeout, fmt.Sprintf("%s/%s Ready", ns, name), func() (bool, error) {
		var err error
		pgc, err = f.PG.PostgresV1alpha1().PostgresClusters(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := pgc.Status
		ready := meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady)
		if ready && st.ObservedGeneration == pgc.Generation && st.ReadyMembers == pgc.Spec.Size && st.Phase == v1alpha1.PhaseRunning {
			return true, nil
		}
		return false, Errorf("phase=%s ready=%d/%d observed=%d/%d conditions=%v", st.Phase, st.ReadyMembers, pgc.Spec.Size,
			st.ObservedGeneration, pgc.Generation, st.Conditions)
	})
	return pgc
}

// Pod fetches a pod.
func (f *Framework) Pod(t testing.TB, ns, name string) *corev1.Pod {
	t.Helper()
	pod, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return pod
}

// Password reads the superuser password from the cluster's Secret.
func (f *Framework) Password(t testing.TB, ns, cluster string) string {
	t.Helper()
	s, err := f.Kube.CoreV1().Secrets(ns).Get(context.Background(), cluster+"-superuser", metav1.GetOptions{})
	require.NoError(t, err)
	return string(s.Data["password"])
}

// PSQL runs the host's psql against a member pod's IP as the superuser and
// returns the unaligned, tuples-only output. The password travels in the
// environment, never on the command line.
func (f *Framework) PSQL(ns, cluster, pod, password, sql string) (string, error) {
	p, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if p.Status.PodIP == "" {
		return "", fmt.Errorf("pod %s has no IP yet", pod)
	}
	return PSQLHost(p.Status.PodIP, password, sql)
}

// PSQLHost runs psql against host:5432.
func PSQLHost(host, password, sql string) (string, error) {
	cmd := exec.Command("psql", "-h", host, "-p", "5432", "-U", "postgres", "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("psql: %w: %s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}
