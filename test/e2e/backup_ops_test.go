//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// The schedule fires on its own, and retention by count expires the older
// full backups in the store and marks their PostgresBackups so.
func TestBackupScheduleAndRetention(t *testing.T) {
	f := setupWaiting(t)
	ns := f.Namespace(t, "backup-sched")
	objectStore(t, f, ns)
	createReadyCluster(t, f, ns, "cron", 1, backupSpec("    schedule: \"* * * * *\"\n    retention: {fullCount: 1}\n"))

	var scheduled string
	framework.Eventually(t, 2*time.Minute, "a scheduled backup completed", func() (bool, error) {
		list, err := f.PG.PostgresV1alpha1().PostgresBackups(ns).List(context.Background(),
			metav1.ListOptions{LabelSelector: "postgres-operator.dev/scheduled=true"})
		if err != nil {
			return false, err
		}
		for _, b := range list.Items {
			if b.Status.Phase == v1alpha1.BackupCompleted {
				scheduled = b.Name
				return true, nil
			}
		}
		return false, framework.Errorf("%d scheduled backups, none completed", len(list.Items))
	})
	// Retention keeps one full backup: a newer one expires the scheduled one.
	takeBackup(t, f, ns, "cron", "cron-manual")
	framework.Eventually(t, time.Minute, scheduled+" expired", func() (bool, error) {
		b, err := f.PG.PostgresV1alpha1().PostgresBackups(ns).Get(context.Background(), scheduled, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return b.Status.Phase == v1alpha1.BackupExpired, framework.Errorf("phase %s", b.Status.Phase)
	})
	framework.Eventually(t, time.Minute, "status.backup moves on", func() (bool, error) {
		st := f.Cluster(t, ns, "cron").Status.Backup
		return st != nil && st.LastScheduledBackup != nil && st.LastSuccessfulBackupName == "cron-manual",
			framework.Errorf("status.backup %+v", st)
	})
	get := f.KubectlOK(t, "", "-n", ns, "get", "pgb")
	for _, col := range []string{"CLUSTER", "PHASE", "LABEL", "Completed", "Expired"} {
		assert.Contains(t, get, col)
	}
	assert.Contains(t, f.KubectlOK(t, "", "-n", ns, "get", "pgc", "cron"), "LAST BACKUP")
}

// The store down under writes: commits go on, archiving is reported
// failing, then catches up; a clone from the archive holds every
// row, so no WAL went missing.
func TestBackupStoreDownUnderWrites(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "store-down")
	objectStore(t, f, ns)
	pw := createReadyCluster(t, f, ns, "busy", 1, backupSpec("    archiveTimeout: 10s\n"))
	primary, _ := f.Roles(t, ns, "busy")
	f.Query(t, ns, primary, pw, "create table t(id serial primary key, at timestamptz default now())")
	takeBackup(t, f, ns, "busy", "busy-base")

	require.NoError(t, objectStoreCmd(f, "stop"))
	stopped := true
	defer func() {
		if stopped {
			_ = objectStoreCmd(f, "start")
		}
	}()
	// Commits go on until the operator reports the archiving failing.
	writes := 0
	var c *metav1.Condition
	framework.Eventually(t, 2*time.Minute, "archiving reported failing under writes", func() (bool, error) {
		f.Query(t, ns, primary, pw, "insert into t default values")
		writes++
		c = meta.FindStatusCondition(f.Cluster(t, ns, "busy").Status.Conditions, v1alpha1.ConditionContinuousArchiving)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == "ArchivingFailing", framework.Errorf("%+v", c)
	})
	t.Logf("while the store was down: %d commits; %s", writes, c.Message)
	assert.NotEmpty(t, clusterEvents(t, f, ns, "busy", "ArchivingFailing"))

	require.NoError(t, objectStoreCmd(f, "start"))
	stopped = false
	switchAndWaitArchived(t, f, ns, primary, pw)
	waitCondition(t, f, ns, "busy", v1alpha1.ConditionContinuousArchiving, metav1.ConditionTrue, "", time.Minute)
	assert.NotEmpty(t, clusterEvents(t, f, ns, "busy", "ArchivingResumed"))

	clonePW := createReadyCluster(t, f, ns, "copy", 1, recoverySpec("/"+ns+"/busy", ""))
	c2, _ := f.Roles(t, ns, "copy")
	assert.Equal(t, fmt.Sprint(writes), f.Query(t, ns, c2, clonePW, "select count(*) from t"), "every commit reached the archive")
}

// Every volume lost: with recoverWhenVolumesLost the operator restores the
// cluster from its own backups, with every archived row.
func TestBackupRecoverWhenVolumesLost(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "volumes-lost")
	objectStore(t, f, ns)
	pw := createReadyCluster(t, f, ns, "dr", 2, backupSpec("    recoverWhenVolumesLost: true\n"))
	primary, _ := f.Roles(t, ns, "dr")
	f.Query(t, ns, primary, pw, "create table t(id int); insert into t select generate_series(1, 500)")
	takeBackup(t, f, ns, "dr", "dr-base")
	f.Query(t, ns, primary, pw, "insert into t select generate_series(501, 600)")
	switchAndWaitArchived(t, f, ns, primary, pw)

	// Claims first (they wait for their pods), then the pods.
	f.KubectlOK(t, "", "-n", ns, "delete", "pvc", "-l", "postgres-operator.dev/cluster=dr", "--wait=false")
	f.KubectlOK(t, "", "-n", ns, "delete", "pod", "-l", "postgres-operator.dev/cluster=dr,postgres-operator.dev/member", "--wait=false")
	framework.Eventually(t, 3*time.Minute, "restored from the backups", func() (bool, error) {
		pgc := f.Cluster(t, ns, "dr")
		p := pgc.Status.Primary
		if p == "" || p == primary || pgc.Status.ReadyMembers != 2 {
			return false, framework.Errorf("primary %q, ready %d, phase %s", p, pgc.Status.ReadyMembers, pgc.Status.Phase)
		}
		n, err := f.PSQL(ns, "dr", p, pw, "select count(*) from t")
		return n == "600", framework.Errorf("rows %q: %v", n, err)
	})
}

// A failover while a backup runs: failover is not held up, the backup
// ends (completed or failed with a reason), and the next one succeeds.
func TestBackupDuringFailover(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "backup-failover")
	objectStore(t, f, ns)
	pw := createReadyCluster(t, f, ns, "fo", 2, backupSpec(""))
	primary, _ := f.Roles(t, ns, "fo")
	f.Query(t, ns, primary, pw, "create table t as select g, repeat('x', 500) pad from generate_series(1, 200000) g")
	f.KubectlOK(t, "apiVersion: postgres-operator.dev/v1alpha1\nkind: PostgresBackup\nmetadata: {name: fo-during}\nspec: {cluster: fo}\n",
		"-n", ns, "create", "-f", "-")
	waitBackupPhase(t, f, ns, "fo-during", v1alpha1.BackupRunning)

	_, err := f.DeletePod(ns, primary, nil)
	require.NoError(t, err)
	start := time.Now()
	waitNewPrimary(t, f, ns, "fo", primary)
	t.Logf("failover during a backup took %s", time.Since(start).Round(100*time.Millisecond))

	framework.Eventually(t, backupTimeout, "the backup ended", func() (bool, error) {
		b, err := f.PG.PostgresV1alpha1().PostgresBackups(ns).Get(context.Background(), "fo-during", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		done := b.Status.Phase == v1alpha1.BackupCompleted || (b.Status.Phase == v1alpha1.BackupFailed && b.Status.Message != "")
		return done, framework.Errorf("phase %s: %s", b.Status.Phase, b.Status.Message)
	})
	takeBackup(t, f, ns, "fo", "fo-after")
}

// The examples in manifests/examples work as they are against the local
// store: a backup-enabled cluster, a backup, a restore point and the PITR
// restore to it (only the source namespace in its path is the test's).
func TestBackupExamples(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "backup-examples")
	objectStore(t, f, ns)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(f.Root, "manifests/examples", name))
		require.NoError(t, err)
		return string(b)
	}
	f.KubectlOK(t, read("backup-cluster.yaml"), "-n", ns, "apply", "-f", "-")
	f.WaitReady(t, ns, "shop", lifecycleReadyTimeout)
	// The examples keep the superuser off TCP: SQL goes over the socket.
	primary, _ := f.Roles(t, ns, "shop")
	f.PSQLLocal(t, ns, primary, "create table orders(id int); insert into orders select generate_series(1, 42)")
	f.KubectlOK(t, read("backup.yaml"), "-n", ns, "apply", "-f", "-")
	waitBackupPhase(t, f, ns, "shop-manual", v1alpha1.BackupCompleted)
	f.PSQLLocal(t, ns, primary, "select pg_create_restore_point('before-migration')")
	f.PSQLLocal(t, ns, primary, "drop table orders")
	wal := f.PSQLLocal(t, ns, primary, "select pg_walfile_name(pg_switch_wal())")
	framework.Eventually(t, 2*time.Minute, "WAL "+wal+" archived", func() (bool, error) {
		out, err := f.TryPSQLLocal(ns, primary, fmt.Sprintf("select coalesce(last_archived_wal >= '%s', false) from pg_stat_archiver", wal))
		return out == "t", framework.Errorf("%q, %v", out, err)
	})

	f.KubectlOK(t, strings.ReplaceAll(read("pitr-restore.yaml"), "path: /default/shop", "path: /"+ns+"/shop"), "-n", ns, "apply", "-f", "-")
	f.WaitReady(t, ns, "shop-restored", lifecycleReadyTimeout)
	rp, _ := f.Roles(t, ns, "shop-restored")
	assert.Equal(t, "42", f.PSQLLocal(t, ns, rp, "select count(*) from orders"),
		"restored to the restore point, before the table was dropped")
}
