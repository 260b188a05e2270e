//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// lifecycleReadyTimeout bounds bootstrap and scaling of a small cluster on
// the shared 2-core machine (a member is Ready in ~5-10 s when idle).
const lifecycleReadyTimeout = 3 * time.Minute

// createReadyCluster applies a cluster manifest, waits until it is Ready
// and returns its superuser password.
func createReadyCluster(t *testing.T, f *framework.Framework, ns, name string, size int, extra string) string {
	t.Helper()
	f.KubectlOK(t, framework.ClusterYAML(name, size, extra), "-n", ns, "apply", "-f", "-")
	f.WaitReady(t, ns, name, lifecycleReadyTimeout)
	return f.Password(t, ns, name)
}

// writeRows creates table lifecycle with n rows on the given member.
func writeRows(t *testing.T, f *framework.Framework, ns, pod, pw string, n int) {
	t.Helper()
	f.Query(t, ns, pod, pw, fmt.Sprintf(
		"create table lifecycle(id int primary key, note text); insert into lifecycle select g, 'row ' || g from generate_series(1, %d) g", n))
}

// waitRows waits until a member (a replica may lag) holds the n rows.
func waitRows(t *testing.T, f *framework.Framework, ns, pod, pw string, n int) {
	t.Helper()
	f.WaitQuery(t, ns, pod, pw, "select count(*) from lifecycle", fmt.Sprint(n), time.Minute)
}

// requireStandby checks that a member runs as a standby.
func requireStandby(t *testing.T, f *framework.Framework, ns, pod, pw string) {
	t.Helper()
	require.Equal(t, "t", f.Query(t, ns, pod, pw, "select pg_is_in_recovery()"), "%s must be a standby", pod)
}
