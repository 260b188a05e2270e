//go:build e2e

package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PSQLLocal runs SQL as the superuser over the member's local socket
// (kubectl exec), the way a user reaches the superuser when
// spec.superuserAccess is off.
func (f *Framework) PSQLLocal(t testing.TB, ns, pod, sql string) string {
	t.Helper()
	out, err := f.TryPSQLLocal(ns, pod, sql)
	require.NoError(t, err, "on %s: %s", pod, sql)
	return out
}

// TryPSQLLocal is PSQLLocal for polling loops: it returns the error.
func (f *Framework) TryPSQLLocal(ns, pod, sql string) (string, error) {
	r := f.Run("", "-n", ns, "exec", pod, "-c", "postgres", "--",
		"psql", "-h", "/var/run/postgresql", "-U", "postgres", "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql)
	if r.Err != nil {
		return "", fmt.Errorf("%w: %s", r.Err, r.Stderr)
	}
	return strings.TrimSpace(r.Stdout), nil
}

// SecretFiles writes the keys of a Secret to files in a temporary
// directory (mode 0600, as libpq wants keys) and returns the directory.
func (f *Framework) SecretFiles(t testing.TB, ns, name string) string {
	t.Helper()
	s, err := f.Kube.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	for k, v := range s.Data {
		require.NoError(t, os.WriteFile(filepath.Join(dir, k), v, 0o600))
	}
	return dir
}

// PSQLConn runs psql with a libpq connection string and extra
// environment (PGPASSWORD...), returning its output and error.
func PSQLConn(conninfo string, env []string, sql string) (string, error) {
	cmd := exec.Command("psql", conninfo, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql)
	cmd.Env = append(append(os.Environ(), "PGCONNECT_TIMEOUT=3"), env...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Secret reads a Secret.
func (f *Framework) Secret(t testing.TB, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := f.Kube.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return s
}
