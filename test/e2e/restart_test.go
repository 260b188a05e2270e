//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// A rolling restart (the restart annotation, as `kubectl pgc restart`
// sets it) restarts every member once, the primary by a switchover, and
// the rows stay.
func TestRollingRestartAnnotation(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "restart")
	pw := createReadyCluster(t, f, ns, "rr", 2, "")
	primary, _ := f.Roles(t, ns, "rr")
	f.Query(t, ns, primary, pw, "create table t as select generate_series(1, 10) id")
	before := podUIDs(t, f, ns, "rr")

	f.KubectlOK(t, "", "-n", ns, "annotate", "pgc", "rr", v1alpha1.RestartAnnotation+"=2026-12-01T18:00:00Z")
	framework.Eventually(t, 3*time.Minute, "every member restarted and Ready", func() (bool, error) {
		now := podUIDs(t, f, ns, "rr")
		for name, uid := range before {
			if now[name] == uid {
				return false, framework.Errorf("%s not restarted yet", name)
			}
		}
		pgc := f.Cluster(t, ns, "rr")
		return pgc.Status.ReadyMembers == 2 && pgc.Status.Phase == v1alpha1.PhaseRunning,
			framework.Errorf("ready %d, phase %s", pgc.Status.ReadyMembers, pgc.Status.Phase)
	})
	p, _ := f.Roles(t, ns, "rr")
	assert.NotEqual(t, primary, p, "the primary was switched over, not just killed")
	assert.Equal(t, "10", f.Query(t, ns, p, pw, "select count(*) from t"))
}

// The same switchover asked twice: removing the annotation in between is
// how a user says "again", and the second one switches back.
func TestSwitchoverAskedTwice(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "switch-twice")
	createReadyCluster(t, f, ns, "sw", 2, "")
	first, _ := f.Roles(t, ns, "sw")
	ask := func() {
		f.KubectlOK(t, "", "-n", ns, "annotate", "pgc", "sw", v1alpha1.SwitchoverAnnotation+"=any")
	}
	ask()
	waitNewPrimary(t, f, ns, "sw", first)
	second := f.Cluster(t, ns, "sw").Status.Primary

	f.KubectlOK(t, "", "-n", ns, "annotate", "pgc", "sw", v1alpha1.SwitchoverAnnotation+"-")
	framework.Eventually(t, time.Minute, "the handled request forgotten", func() (bool, error) {
		st := f.Cluster(t, ns, "sw").Status
		return st.LastSwitchover == "", framework.Errorf("lastSwitchover %q", st.LastSwitchover)
	})
	ask()
	waitNewPrimary(t, f, ns, "sw", second)
	assert.Equal(t, first, f.Cluster(t, ns, "sw").Status.Primary, "switched back")
}
