//go:build e2e

package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// expectation reads the "# expect: ..." first line of a corpus file.
func expectation(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	require.True(t, sc.Scan(), "%s is empty", path)
	line, ok := strings.CutPrefix(sc.Text(), "# expect: ")
	require.True(t, ok, "%s must start with '# expect: <message>'", path)
	return line
}

// Every manifest in test/invalid is refused by the real API server with a
// message naming the field, so the operator never sees it.
func TestInvalidManifestsAreRefused(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "invalid")
	files, err := filepath.Glob(filepath.Join(f.Root, "test/invalid/*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := expectation(t, file)
			r := f.Run("", "-n", ns, "apply", "-f", file)
			require.Error(t, r.Err, "the API server accepted %s", file)
			assert.Contains(t, r.Stderr, want)
		})
	}
	r := f.Run("", "-n", ns, "get", "pgc", "-o", "name")
	require.NoError(t, r.Err)
	assert.Empty(t, strings.TrimSpace(r.Stdout), "no invalid cluster was stored")
}

// Invalid changes to an existing cluster are refused on update.
func TestInvalidUpdatesAreRefused(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "invalid-upd")
	dirs, err := filepath.Glob(filepath.Join(f.Root, "test/invalid/updates/*/"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f.KubectlOK(t, "", "-n", ns, "apply", "-f", filepath.Join(dir, "base.yaml"))
			change := filepath.Join(dir, "change.yaml")
			r := f.Run("", "-n", ns, "replace", "-f", change)
			require.Error(t, r.Err, "the API server accepted %s", change)
			assert.Contains(t, r.Stderr, expectation(t, change))
		})
	}
}

// A PostgresCluster with spec.deletionProtection cannot be deleted, by name
// or with --all, until the field is turned off; the refusal says how (the
// ValidatingAdmissionPolicy in manifests/admission).
func TestDeletionProtection(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "protect")
	manifest := `apiVersion: postgres-operator.dev/v1alpha1
kind: PostgresCluster
metadata: {name: kept}
spec: {size: 1, postgresVersion: 15, superuserAccess: true, storage: {size: 1Gi}, paused: true, deletionProtection: true}
`
	off := `{"spec":{"deletionProtection":false}}`
	f.KubectlOK(t, manifest, "-n", ns, "apply", "-f", "-")
	// Runs before the namespace's deletion, which the policy would block.
	t.Cleanup(func() { f.Run("", "-n", ns, "patch", "pgc", "kept", "--type", "merge", "-p", off) })

	for _, args := range [][]string{{"delete", "pgc", "kept"}, {"delete", "pgc", "--all"}} {
		r := f.Run("", append([]string{"-n", ns}, args...)...)
		require.Error(t, r.Err, "kubectl %v was allowed", args)
		assert.Contains(t, r.Stderr, "spec.deletionProtection is true on PostgresCluster "+ns+"/kept")
		assert.Contains(t, r.Stderr, "kubectl -n "+ns+" patch pgc kept --type merge -p '"+off+"'")
	}
	f.KubectlOK(t, "", "-n", ns, "get", "pgc", "kept")

	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "kept", "--type", "merge", "-p", off)
	f.KubectlOK(t, "", "-n", ns, "delete", "pgc", "kept", "--wait=true")
}
