//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// The README's example yields a running PostgreSQL that psql on the host
// can query, and `kubectl replace` of the manifest is picked up.
func TestExampleClusterAndReplace(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "example")
	manifest, err := os.ReadFile(filepath.Join(f.Root, "manifests/examples/minimal.yaml"))
	require.NoError(t, err)
	f.KubectlOK(t, string(manifest), "-n", ns, "apply", "-f", "-")

	pgc := f.WaitReady(t, ns, "demo", 2*time.Minute)
	assert.Equal(t, "demo-1", pgc.Status.Primary)
	assert.True(t, pgc.Status.Initialized)
	pod := f.Pod(t, ns, "demo-1")
	assert.Equal(t, "localhost/postgres:15", pod.Spec.Containers[0].Image, "image from the operator's template")
	// The superuser over TCP is off by default: it is reached over the
	// member's socket.
	assert.Equal(t, "42", f.PSQLLocal(t, ns, "demo-1", "select 40 + 2"))
	version := f.PSQLLocal(t, ns, "demo-1", "show server_version_num")
	assert.True(t, strings.HasPrefix(version, "15"), version)

	// kubectl get shows the printer columns a user reads.
	get := f.KubectlOK(t, "", "-n", ns, "get", "pgc", "demo")
	for _, col := range []string{"SIZE", "READY", "PRIMARY", "PHASE", "AGE", "demo-1", "Running"} {
		assert.Contains(t, get, col)
	}

	// The operator's log tells what it did to this cluster, under its key.
	logs, err := f.OperatorLogs()
	require.NoError(t, err)
	assert.Regexp(t, `"Action applied" cluster="`+ns+`/demo" action="CreateMember" member="demo-1"`, logs)

	// kubectl replace with a changed field: a reloadable parameter.
	changed := strings.Replace(string(manifest), "spec:\n", "spec:\n  parameters:\n    work_mem: 12MB\n", 1)
	f.KubectlOK(t, changed, "-n", ns, "replace", "-f", "-")
	framework.Eventually(t, time.Minute, "work_mem applied", func() (bool, error) {
		v := f.PSQLLocal(t, ns, "demo-1", "show work_mem")
		return v == "12MB", framework.Errorf("work_mem=%q", v)
	})
	pgc = f.WaitReady(t, ns, "demo", time.Minute)
	assert.Equal(t, pgc.Generation, pgc.Status.ObservedGeneration)
	assert.Equal(t, v1alpha1.PhaseRunning, pgc.Status.Phase)
}
