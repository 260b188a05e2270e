//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// A parameter that needs a restart (max_connections), changed under
// pgbench load: status.pendingRestart goes true then false; the members
// restart one at a time, replicas first and the primary last, never more
// than one unready at any moment; every member ends with the new value and
// the load goes on, with at most a short error window while the primary
// changes.
func TestConfigRestartParameterUnderLoad(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "cfg-roll")
	pw := createReadyCluster(t, f, ns, "roll", 3, "")
	primary, replicas := f.Roles(t, ns, "roll")
	members := append(slices.Clone(replicas), primary)
	for _, m := range members {
		require.Equal(t, "100", f.Query(t, ns, m, pw, "show max_connections"), "the default before the change")
	}
	before := identities(t, f, ns, "roll", pw)
	rw := f.ServiceIP(t, ns, "roll-rw")
	require.NoError(t, framework.InitPgbench(rw, pw))

	watch := f.WatchRoll(t, ns, "roll", members)
	load := framework.StartPGBenchRounds(rw, pw, 4, 10*time.Second)
	t.Cleanup(func() { load.Stop() })
	f.WaitQuery(t, ns, primary, pw, "select count(*) >= 4 from pg_stat_activity where application_name = 'pgbench'", "t", 30*time.Second)

	start := time.Now()
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "roll", "--type", "merge", "-p", `{"spec":{"parameters":{"max_connections":"150"}}}`)
	framework.Eventually(t, time.Minute, "status.pendingRestart true", func() (bool, error) {
		return watch.PendingRestartSeen(), framework.Errorf("not seen yet")
	})
	waitRolled(t, f, ns, "roll", before, 4*time.Minute)
	t.Logf("roll took %s", time.Since(start).Round(time.Second))
	rounds := load.Stop()
	report := watch.Stop()

	t.Logf("pods began terminating in this order: %v; most members unready at once: %d (%s)\nreadiness changes:\n%s",
		report.Terminated, report.MaxNotReady, report.Worst, strings.Join(report.Timeline, "\n"))
	assert.ElementsMatch(t, members, report.Terminated, "each member restarted exactly once")
	if assert.NotEmpty(t, report.Terminated) {
		assert.Equal(t, primary, report.Terminated[len(report.Terminated)-1], "the primary restarts last")
	}
	assert.LessOrEqual(t, report.MaxNotReady, 1, "members unready at once; worst: %s", report.Worst)
	requireRestartOrder(t, f, ns, "roll", primary, replicas)
	for _, m := range members {
		assert.Equal(t, "150", f.Query(t, ns, m, pw, "show max_connections"), m)
		assert.Equal(t, "0", f.Query(t, ns, m, pw, "select count(*) from pg_settings where pending_restart"), m)
	}
	// The primary restarts last, so a replica that already runs the new
	// settings takes over: a roll never waits for the old primary to return.
	newPrimary, _ := f.Roles(t, ns, "roll")
	assert.NotEqual(t, primary, newPrimary, "rolling the primary hands its role to a replica")
	assertLoadSurvived(t, rounds)

	// Writes go on through -rw on whichever member is primary now.
	final := framework.RunPGBenchRound(rw, pw, 4, 5*time.Second)
	require.NoError(t, final.Err, final.Output)
	assert.Positive(t, final.Processed)
	assert.Zero(t, final.Failed+final.Aborted, final.Output)

	lowerMaxConnections(t, f, ns, "roll", pw)
}

// lowerMaxConnections lowers max_connections below what every member runs.
// A standby refuses to start below its primary's value, so the primary
// restarts first, in place (the same member, no promotion: the timeline
// stays), and the replicas after it; no member fails to start.
func lowerMaxConnections(t *testing.T, f *framework.Framework, ns, cluster, pw string) {
	primary, replicas := f.Roles(t, ns, cluster)
	timeline := f.Query(t, ns, primary, pw, "select timeline_id from pg_control_checkpoint()")
	f.Query(t, ns, primary, pw, "create table before_lowering as select 1 as x")
	before := identities(t, f, ns, cluster, pw)
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", cluster, "--type", "merge", "-p", `{"spec":{"parameters":{"max_connections":"90"}}}`)
	waitRolled(t, f, ns, cluster, before, 4*time.Minute)

	after, _ := f.Roles(t, ns, cluster)
	assert.Equal(t, primary, after, "restarted in place: no replica promoted")
	assert.Equal(t, timeline, f.Query(t, ns, primary, pw, "select timeline_id from pg_control_checkpoint()"), "no promotion")
	for _, m := range append(slices.Clone(replicas), primary) {
		assert.Equal(t, "90", f.Query(t, ns, m, pw, "show max_connections"), m)
		assert.Equal(t, "1", f.Query(t, ns, m, pw, "select count(*) from before_lowering"), m)
	}
	events := f.KubectlOK(t, "", "-n", ns, "get", "events", "--field-selector",
		"involvedObject.kind=PostgresCluster,involvedObject.name="+cluster, "-o", "custom-columns=REASON:.reason,MSG:.message", "--no-headers")
	assert.Contains(t, events, fmt.Sprintf("restarting the primary %s first, in place, to lower max_connections", primary))
	assert.Contains(t, events, fmt.Sprintf("restarting the primary %s on its volume, in place", primary))
	assert.NotContains(t, events, "container exited", "no member failed to start")
	created := map[string]time.Time{}
	for _, p := range f.MemberPods(t, ns, cluster) {
		created[p.Name] = p.CreationTimestamp.Time
	}
	for _, r := range replicas {
		assert.False(t, created[r].Before(created[primary]), "replica %s's pod (created %s) is older than the primary's (%s)",
			r, created[r], created[primary])
	}
}

// waitRolled waits until every member runs in a new pod and the cluster
// is Ready with no restart pending.
func waitRolled(t *testing.T, f *framework.Framework, ns, cluster string, before map[string]memberIdentity, timeout time.Duration) {
	t.Helper()
	framework.Eventually(t, timeout, "every member restarted and the cluster Ready", func() (bool, error) {
		pods, err := f.ListMemberPods(ns, cluster)
		if err != nil {
			return false, err
		}
		var old []string
		for _, p := range pods {
			if p.UID == before[p.Name].uid || p.DeletionTimestamp != nil {
				old = append(old, p.Name)
			}
		}
		pgc, err := f.PG.PostgresV1alpha1().PostgresClusters(ns).Get(context.Background(), cluster, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := pgc.Status
		ready := meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady) && st.ObservedGeneration == pgc.Generation
		done := len(old) == 0 && len(pods) == len(before) && ready && !st.PendingRestart
		return done, framework.Errorf("not restarted: %v, pods %d, ready %v, pendingRestart %v, phase %s",
			old, len(pods), ready, st.PendingRestart, st.Phase)
	})
}

// requireRestartOrder checks the order a user can see afterwards: the
// operator's Events name each restart, and the old primary's new pod is
// the youngest (creation timestamps have one-second resolution, hence >=).
func requireRestartOrder(t *testing.T, f *framework.Framework, ns, cluster, primary string, replicas []string) {
	t.Helper()
	// Replicas restart by a pod deletion (DeletePod), the primary by a
	// switchover (Switchover): both Events name the restart.
	events := f.KubectlOK(t, "", "-n", ns, "get", "events", "--field-selector",
		"involvedObject.kind=PostgresCluster,involvedObject.name="+cluster, "-o", "custom-columns=REASON:.reason,MSG:.message", "--no-headers")
	for _, r := range replicas {
		assert.Contains(t, events, fmt.Sprintf("restarting %s (replica) to apply changes", r))
	}
	assert.Regexp(t, fmt.Sprintf(`Switchover\s+restarting %s \(primary\) to apply changes: switching over`, primary), events)
	created := map[string]time.Time{}
	for _, p := range f.MemberPods(t, ns, cluster) {
		created[p.Name] = p.CreationTimestamp.Time
	}
	for _, r := range replicas {
		assert.False(t, created[primary].Before(created[r]), "%s's pod (created %s) is older than replica %s's (%s)",
			primary, created[primary], r, created[r])
	}
}

// assertLoadSurvived reports pgbench's rounds and checks that the load ran
// and that most transactions succeeded: a client that loses its connection
// when the primary changes is aborted by pgbench, which is the expected,
// brief error window.
func assertLoadSurvived(t *testing.T, rounds []framework.PGBenchRound) {
	t.Helper()
	var processed, failed, aborted, erroredRounds int
	var lines []string
	for _, r := range rounds {
		processed, failed, aborted = processed+r.Processed, failed+r.Failed, aborted+r.Aborted
		if r.Err != nil {
			erroredRounds++
		}
		lines = append(lines, fmt.Sprintf("%s processed=%d failed=%d aborted=%d err=%v %s",
			r.Start.Format("15:04:05.0"), r.Processed, r.Failed, r.Aborted, r.Err, r.FirstError()))
	}
	t.Logf("pgbench: %d rounds (%d with errors), %d transactions processed, %d failed, %d clients aborted\n%s",
		len(rounds), erroredRounds, processed, failed, aborted, strings.Join(lines, "\n"))
	require.NotEmpty(t, rounds)
	assert.Greater(t, processed, 100, "pgbench ran through the roll")
	assert.LessOrEqual(t, failed*20, processed, "at most 5% of transactions failed")
}
