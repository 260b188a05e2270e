//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// pgcPlugin runs the kubectl-pgc binary as kubectl would, against the
// test's namespace with the framework's kubeconfig.
type pgcPlugin struct {
	t          *testing.T
	bin        string
	kubeconfig string
	ns         string
}

// buildPlugin starts `go build` of the plugin at once, so that it
// compiles while the cluster bootstraps; the returned function waits.
func buildPlugin(t *testing.T, f *framework.Framework, ns string) func() pgcPlugin {
	bin := filepath.Join(t.TempDir(), "kubectl-pgc")
	done := make(chan error, 1)
	go func() {
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/kubectl-pgc")
		cmd.Dir = f.Root
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("go build ./cmd/kubectl-pgc: %w: %s", err, out)
		}
		done <- err
	}()
	return func() pgcPlugin {
		require.NoError(t, <-done)
		return pgcPlugin{t: t, bin: bin, kubeconfig: f.Kubeconfig, ns: ns}
	}
}

// run runs the plugin; stdout is a pipe, so it prints no colour.
func (p pgcPlugin) run(args ...string) (string, string, error) {
	cmd := exec.Command(p.bin, append([]string{"--kubeconfig", p.kubeconfig, "-n", p.ns}, args...)...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=3")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func (p pgcPlugin) ok(args ...string) string {
	p.t.Helper()
	out, errOut, err := p.run(args...)
	require.NoError(p.t, err, "kubectl pgc %s: %s%s", strings.Join(args, " "), out, errOut)
	return out
}

// kubectl pgc against a real size-2 cluster: status, pause and resume,
// switchover --to --wait, psql through -rw (the password from the Secret,
// never on a command line) and the logs of a member and of the operator.
func TestKubectlPlugin(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "plugin")
	plugin := buildPlugin(t, f, ns)
	pw := createReadyCluster(t, f, ns, "pl", 2, "")
	pgc := plugin()
	primary, replicas := f.Roles(t, ns, "pl")
	require.Len(t, replicas, 1)

	out := pgc.ok("status", "pl", "--events", "50")
	assert.Regexp(t, `Phase\s+Running\n`, out)
	assert.Regexp(t, fmt.Sprintf(`Primary\s+%s \(timeline \d+\)\n`, primary), out)
	assert.Regexp(t, fmt.Sprintf(`%s\s+primary\s+yes\s+-\n`, primary), out)
	assert.Regexp(t, fmt.Sprintf(`%s\s+replica\s+yes\s+\d+(\.\d)? (B|KiB|MiB)\n`, replicas[0]), out)
	assert.Regexp(t, `Ready\s+True\s+`, out)
	assert.Regexp(t, `CreateMember\s+`, out, "recent Events")
	assert.NotContains(t, out, "\x1b[", "no colour into a pipe")

	pgc.ok("pause", "pl")
	framework.Eventually(t, 30*time.Second, "Paused condition", func() (bool, error) {
		c := f.Cluster(t, ns, "pl")
		return meta.IsStatusConditionTrue(c.Status.Conditions, v1alpha1.ConditionPaused), nil
	})
	assert.Regexp(t, `Paused\s+yes`, pgc.ok("status", "pl"))
	pgc.ok("resume", "pl")
	c := f.WaitReady(t, ns, "pl", time.Minute)
	assert.Nil(t, meta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionPaused))
	assert.False(t, c.Spec.Paused)

	out = pgc.ok("switchover", "pl", "--to", replicas[0], "--wait", "--timeout", "60s")
	assert.Contains(t, out, fmt.Sprintf("switch over from %s to %s", primary, replicas[0]))
	assert.Contains(t, out, replicas[0]+" is the primary")
	assert.Equal(t, replicas[0], f.Cluster(t, ns, "pl").Status.Primary)

	// -rw follows the new primary once kube-proxy has moved the Service.
	var stdout, stderr string
	framework.Eventually(t, 30*time.Second, "psql -rw on the new primary", func() (bool, error) {
		var err error
		stdout, stderr, err = pgc.run("psql", "pl", "-rw", "--", "-Atc", "select 1, pg_is_in_recovery()")
		return err == nil && strings.TrimSpace(stdout) == "1|f", framework.Errorf("%v: %s%s", err, stdout, stderr)
	})
	assert.NotContains(t, stdout+stderr, pw)

	out = pgc.ok("logs", "pl")
	assert.Contains(t, out, "member "+replicas[0]+": starting postgres as", "the primary's log by default")
	out = pgc.ok("logs", "pl", "--operator")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.NotEmpty(t, lines)
	for _, l := range lines {
		require.Contains(t, l, fmt.Sprintf(`cluster="%s/pl"`, ns))
	}
	assert.Contains(t, out, `action="Switchover"`)
}
