//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// The user story of backups: write rows, back up, write more, note a time
// T, write more, delete every row by mistake. A new cluster restored to T
// has exactly the rows committed before T; a clone (no target) has the
// newest state; and a restore after a failover reads the new timeline.
func TestBackupPointInTimeRecoveryAndClone(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "pitr")
	objectStore(t, f, ns)
	pw := createReadyCluster(t, f, ns, "src", 2, backupSpec("    archiveTimeout: 10s\n"))
	primary, _ := f.Roles(t, ns, "src")
	f.Query(t, ns, primary, pw, "create table t(id int primary key); insert into t select generate_series(1, 100)")

	b := takeBackup(t, f, ns, "src", "src-first")
	assert.NotEmpty(t, b.Status.Label, "the engine's label")
	assert.NotEmpty(t, b.Status.BeginLSN)
	assert.NotEmpty(t, b.Status.EndWAL)
	assert.Positive(t, b.Status.DatabaseBytes)
	require.NotNil(t, b.Status.StopTime)

	// The engine records a backup's stop time in whole seconds and picks
	// a backup that stopped before the target: a target in the second the
	// backup stopped in could find none. Wait for the next second.
	after := b.Status.StopTime.Add(time.Second).UTC().Format("2006-01-02 15:04:05")
	f.WaitQuery(t, ns, primary, pw, fmt.Sprintf("select clock_timestamp() > '%s+00'", after), "t", 30*time.Second)
	f.Query(t, ns, primary, pw, "insert into t select generate_series(101, 200)")
	target := f.Query(t, ns, primary, pw, "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
	f.Query(t, ns, primary, pw, "insert into t select generate_series(201, 300)")
	f.Query(t, ns, primary, pw, "delete from t")
	f.Query(t, ns, primary, pw, "insert into t values (-1), (-2), (-3)")
	switchAndWaitArchived(t, f, ns, primary, pw)

	framework.Eventually(t, time.Minute, "status.backup names the backup", func() (bool, error) {
		st := f.Cluster(t, ns, "src").Status.Backup
		return st != nil && st.LastSuccessfulBackupName == "src-first" && st.LastArchivedWAL != "" &&
			st.FirstRecoverabilityPoint != nil, framework.Errorf("status.backup %+v", st)
	})
	waitCondition(t, f, ns, "src", v1alpha1.ConditionContinuousArchiving, metav1.ConditionTrue, "", time.Minute)

	// Two restores from the same archive, side by side: to a point in
	// time, and a clone of the newest state.
	f.KubectlOK(t, framework.ClusterYAML("pitr", 1, recoverySpec("/"+ns+"/src", fmt.Sprintf("{time: %q}", target))+backupSpec(""))+
		"---\n"+framework.ClusterYAML("clone", 2, recoverySpec("/"+ns+"/src", "")), "-n", ns, "apply", "-f", "-")
	f.WaitReady(t, ns, "pitr", lifecycleReadyTimeout)
	f.WaitReady(t, ns, "clone", lifecycleReadyTimeout)

	// Point in time: the rows committed before T, to the row.
	pitrPW := f.Password(t, ns, "pitr")
	p, _ := f.Roles(t, ns, "pitr")
	assert.Equal(t, "200", f.Query(t, ns, p, pitrPW, "select count(*) from t"), "restored to T=%s", target)
	assert.Equal(t, "f", f.Query(t, ns, p, pitrPW, "select pg_is_in_recovery()"), "promoted at the target")

	// Clone: the newest archived state.
	clonePW := f.Password(t, ns, "clone")
	c, replicas := f.Roles(t, ns, "clone")
	assert.Equal(t, "3", f.Query(t, ns, c, clonePW, "select count(*) from t"))
	require.Len(t, replicas, 1)
	f.WaitQuery(t, ns, replicas[0], clonePW, "select count(*) from t", "3", time.Minute)

	// A failover, then a restore past it reads the new timeline.
	_, err := f.DeletePod(ns, primary, nil)
	require.NoError(t, err)
	waitNewPrimary(t, f, ns, "src", primary)
	newPrimary, _ := f.Roles(t, ns, "src")
	f.Query(t, ns, newPrimary, pw, "insert into t values (-4)")
	switchAndWaitArchived(t, f, ns, newPrimary, pw)
	afterPW := createReadyCluster(t, f, ns, "after", 1, recoverySpec("/"+ns+"/src", ""))
	a, _ := f.Roles(t, ns, "after")
	assert.Equal(t, "4", f.Query(t, ns, a, afterPW, "select count(*) from t"), "the row written after the failover")
}

// A target the archive cannot reach fails the restore with the reason in
// the cluster's status, never an empty database or a silent success.
func TestBackupRecoveryTargetUnreachable(t *testing.T) {
	f := setupWaiting(t)
	ns := f.Namespace(t, "pitr-bad")
	objectStore(t, f, ns)
	createReadyCluster(t, f, ns, "src", 1, backupSpec(""))
	takeBackup(t, f, ns, "src", "src-only")

	future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	f.KubectlOK(t, framework.ClusterYAML("late", 1, recoverySpec("/"+ns+"/src", fmt.Sprintf("{time: %q}", future))), "-n", ns, "apply", "-f", "-")
	c := waitCondition(t, f, ns, "late", v1alpha1.ConditionFailed, metav1.ConditionTrue, "RecoveryTargetUnreachable", 4*time.Minute)
	assert.Contains(t, c.Message, "recovery ended before configured recovery target was reached")
}

// Wrong keys: archiving fails loudly (condition and Warning Event), the
// database keeps taking writes, and a backup fails with the engine's reason.
// A bad cron schedule is reported, nothing else breaks.
func TestBackupBadConfiguration(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "backup-bad")
	objectStore(t, f, ns)
	f.KubectlOK(t, "", "-n", ns, "create", "secret", "generic", "wrong-creds",
		"--from-literal=ACCESS_KEY_ID=nobody", "--from-literal=ACCESS_SECRET_KEY=wrong-secret")
	spec := "  backup:\n    objectStore:\n" + storeYAML(6, "", "wrong-creds") + "    archiveTimeout: 5s\n    schedule: \"every day\"\n"
	pw := createReadyCluster(t, f, ns, "bad", 1, spec)
	primary, _ := f.Roles(t, ns, "bad")
	f.Query(t, ns, primary, pw, "create table t(id int); insert into t values (1); select pg_switch_wal()")

	c := waitCondition(t, f, ns, "bad", v1alpha1.ConditionContinuousArchiving, metav1.ConditionFalse, "ArchivingFailing", 2*time.Minute)
	assert.Contains(t, c.Message, "ERROR", "the engine's own reason: %s", c.Message)
	assert.NotEmpty(t, clusterEvents(t, f, ns, "bad", "ArchivingFailing"), "a Warning Event")
	waitCondition(t, f, ns, "bad", v1alpha1.ConditionBackupsHealthy, metav1.ConditionFalse, "InvalidSchedule", time.Minute)
	f.Query(t, ns, primary, pw, "insert into t values (2)") // commits continue

	f.KubectlOK(t, "apiVersion: postgres-operator.dev/v1alpha1\nkind: PostgresBackup\nmetadata: {name: bad-now}\nspec: {cluster: bad}\n",
		"-n", ns, "create", "-f", "-")
	b := waitBackupPhase(t, f, ns, "bad-now", v1alpha1.BackupFailed)
	assert.Contains(t, b.Status.Message, "ERROR", "the engine's reason: %s", b.Status.Message)
	f.WaitReady(t, ns, "bad", time.Minute)
}
