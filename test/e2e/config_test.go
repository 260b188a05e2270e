//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// memberIdentity is what a restart would change: the pod's UID and the
// postmaster's start time.
type memberIdentity struct {
	uid     types.UID
	started string
}

func identities(t *testing.T, f *framework.Framework, ns, cluster, pw string) map[string]memberIdentity {
	t.Helper()
	out := map[string]memberIdentity{}
	for _, p := range f.MemberPods(t, ns, cluster) {
		out[p.Name] = memberIdentity{uid: p.UID, started: f.Query(t, ns, p.Name, pw, "select pg_postmaster_start_time()")}
	}
	return out
}

// A reloadable parameter changed with `kubectl patch` reaches every member
// without restarting any: same pods, same postmaster start times.
func TestConfigReloadableParameter(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "cfg-reload")
	pw := createReadyCluster(t, f, ns, "reload", 2, "")
	before := identities(t, f, ns, "reload", pw)
	require.Len(t, before, 2)
	for m := range before {
		require.Equal(t, "4MB", f.Query(t, ns, m, pw, "show work_mem"), "the default before the change")
	}

	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "reload", "--type", "merge", "-p", `{"spec":{"parameters":{"work_mem":"24MB"}}}`)
	for m := range before {
		f.WaitQuery(t, ns, m, pw, "show work_mem", "24MB", time.Minute)
	}
	pgc := f.WaitReady(t, ns, "reload", time.Minute)
	assert.False(t, pgc.Status.PendingRestart)
	assert.Equal(t, before, identities(t, f, ns, "reload", pw), "no member restarted")
	for m := range before {
		assert.Equal(t, "0", f.Query(t, ns, m, pw, "select count(*) from pg_settings where pending_restart"), m)
	}
}
