package backup

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func TestBackupWaitsForAReadyPrimary(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"),
		memberPod("demo", "demo-1", true, false), memberPod("demo", "demo-2", false, true))

	assert.Equal(t, pendingRecheck, f.syncBackup("b1"))
	b := f.backup("b1")
	assert.Equal(t, v1alpha1.BackupPending, b.Status.Phase)
	assert.Equal(t, "waiting for a ready primary of PostgresCluster demo", b.Status.Message)
	assert.Empty(t, f.jobs())
	assert.Empty(t, f.recorder.take(), "waiting is a status, not an Event")

	f.clock.Step(pendingLimit)
	assert.Equal(t, pendingRecheck, f.syncBackup("b1"), "still within the limit")
	f.clock.Step(time.Second)
	f.syncBackup("b1")
	b = f.backup("b1")
	assert.Equal(t, v1alpha1.BackupFailed, b.Status.Phase)
	assert.Equal(t, "gave up after 10m0s: waiting for a ready primary of PostgresCluster demo", b.Status.Message)
	assert.Equal(t, []string{
		"PostgresBackup/b1 Warning BackupFailed backup failed: " + b.Status.Message,
		"PostgresCluster/demo Warning BackupFailed PostgresBackup b1: backup failed: " + b.Status.Message,
	}, f.recorder.take())
	assert.Zero(t, f.syncBackup("b1"), "a failed backup is left alone")
	assert.Empty(t, f.jobs())
}

func TestBackupWaitsWhileTheClusterIsPaused(t *testing.T) {
	pgc := cluster("demo")
	pgc.Spec.Paused = true
	f := newFixture(t, pgc, backupOf("b1", "demo"), memberPod("demo", "demo-1", true, true))
	assert.Equal(t, pendingRecheck, f.syncBackup("b1"))
	assert.Equal(t, "waiting: PostgresCluster demo is paused", f.backup("b1").Status.Message)
	assert.Empty(t, f.jobs())
}

func TestBackupFailsWithoutAClusterToBackUp(t *testing.T) {
	noSpec := cluster("plain")
	noSpec.Spec.Backup = nil
	f := newFixture(t, noSpec, backupOf("b1", "missing"), backupOf("b2", "plain"))

	f.syncBackup("b1")
	assert.Equal(t, v1alpha1.BackupFailed, f.backup("b1").Status.Phase)
	assert.Equal(t, "PostgresCluster missing not found in namespace db", f.backup("b1").Status.Message)
	assert.Equal(t, []string{"PostgresBackup/b1 Warning BackupFailed backup failed: PostgresCluster missing not found in namespace db"},
		f.recorder.take())

	f.syncBackup("b2")
	assert.Equal(t, v1alpha1.BackupFailed, f.backup("b2").Status.Phase)
	assert.Contains(t, f.backup("b2").Status.Message, "PostgresCluster plain has no spec.backup")
	assert.Len(t, f.recorder.take(), 2, "on the backup and the cluster")
	assert.Empty(t, f.jobs())
}

// A cluster created with the backup may not be in the cache yet.
func TestBackupReadsAClusterTheCacheLacks(t *testing.T) {
	f := newFixture(t, backupOf("b1", "demo"))
	f.create(cluster("demo")) // in the API, not in the cache
	_, err := f.c.syncBackup(f.ctx, cache.NewObjectName(ns, "b1"))
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.BackupPending, f.backup("b1").Status.Phase, "no primary yet, but not Failed")
}

func TestBackupStartsAJob(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"),
		memberPod("demo", "demo-1", false, true), memberPod("demo", "demo-2", true, true))

	assert.Zero(t, f.syncBackup("b1"), "the Job's events drive it now")
	jobs := f.jobs()
	require.Len(t, jobs, 1)
	assert.Equal(t, "b1", jobs[0].Name)
	assert.Equal(t, "demo-2-data", jobs[0].Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName)
	b := f.backup("b1")
	assert.Equal(t, v1alpha1.BackupRunning, b.Status.Phase)
	assert.Equal(t, "b1", b.Status.Job)
	assert.Equal(t, "demo-2", b.Status.Primary)
	assert.Equal(t, t0, b.Status.StartTime.Time)
	assert.Equal(t, []string{
		"PostgresBackup/b1 Normal BackupStarted backup started from demo-2 (Job b1)",
		"PostgresCluster/demo Normal BackupStarted PostgresBackup b1: backup started from demo-2 (Job b1)",
	}, f.recorder.take())

	// Again, as an event of the Job would: nothing more to do.
	before := f.writes()
	f.syncBackup("b1")
	assert.Equal(t, before, f.writes(), "no write")
	assert.Len(t, f.jobs(), 1)
	assert.Empty(t, f.recorder.take())
}

func TestOneBackupJobPerClusterAtATime(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), backupOf("b2", "demo"), backupOf("other", "else"),
		cluster("else"), memberPod("demo", "demo-1", true, true), memberPod("else", "else-1", true, true))

	f.syncBackup("b1")
	// b2's pass sees a cache without b1's Job: the controller remembers it.
	after, err := f.c.syncBackup(f.ctx, cache.NewObjectName(ns, "b2"))
	require.NoError(t, err)
	assert.Equal(t, pendingRecheck, after)
	f.refresh()
	assert.Equal(t, "waiting for Job b1, another backup of PostgresCluster demo, to finish", f.backup("b2").Status.Message)

	assert.Equal(t, pendingRecheck, f.syncBackup("b2"), "and with the cache showing it")
	f.syncBackup("other")
	assert.Equal(t, v1alpha1.BackupRunning, f.backup("other").Status.Phase, "another cluster is not held up")
	f.clock.Step(2 * pendingLimit)
	f.syncBackup("b2")
	assert.Equal(t, v1alpha1.BackupPending, f.backup("b2").Status.Phase, "queueing has no limit of its own")

	f.finishJob("b1", true, sampleLog(t, incrLabel), "")
	f.syncBackup("b2")
	assert.Equal(t, v1alpha1.BackupRunning, f.backup("b2").Status.Phase)
	assert.Len(t, f.jobs(), 3)
}

func TestBackupCompletes(t *testing.T) {
	stopped := func(d time.Duration) *metav1.Time { t := metav1.NewTime(t0.Add(d)); return &t }
	expired := backupOf("old", "demo")
	expired.Status = v1alpha1.PostgresBackupStatus{Phase: v1alpha1.BackupCompleted, Label: "20251228-030001F", Job: "old", StopTime: stopped(-8 * 24 * time.Hour)}
	kept := backupOf("full", "demo")
	kept.Status = v1alpha1.PostgresBackupStatus{Phase: v1alpha1.BackupCompleted, Label: "20260104-142406F", Job: "full", StopTime: stopped(-13 * time.Hour)}
	elsewhere := backupOf("else", "else")
	elsewhere.Status = v1alpha1.PostgresBackupStatus{Phase: v1alpha1.BackupCompleted, Label: "20251228-030001F", StopTime: stopped(-8 * 24 * time.Hour)}
	// Ended after this backup began: its report cannot know it (reports may
	// be read out of order after a downtime).
	newer := backupOf("newer", "demo")
	newer.Status = v1alpha1.PostgresBackupStatus{Phase: v1alpha1.BackupCompleted, Label: "20260105-040001F", StopTime: stopped(time.Hour)}
	oldJob := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Name: "old", Namespace: ns, Labels: map[string]string{ClusterLabel: "demo", BackupLabel: "old"},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(expired, v1alpha1.SchemeGroupVersion.WithKind("PostgresBackup"))},
	}, Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}}
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), expired, kept, elsewhere, newer, oldJob,
		memberPod("demo", "demo-2", true, true))

	f.syncBackup("b1")
	f.recorder.take()
	f.finishJob("b1", true, sampleLog(t, incrLabel), "")
	assert.Zero(t, f.syncBackup("b1"))

	b := f.backup("b1")
	assert.Equal(t, v1alpha1.BackupCompleted, b.Status.Phase)
	assert.Equal(t, incrLabel, b.Status.Label)
	assert.Equal(t, "1.2 GiB", b.Status.Size)
	assert.Equal(t, "0/8000100", b.Status.EndLSN)
	assert.Equal(t, time.Unix(1767582009, 0).UTC(), b.Status.StopTime.Time)
	assert.Equal(t, "demo-2", b.Status.Primary)
	assert.Empty(t, b.Status.Message)

	assert.Equal(t, v1alpha1.BackupExpired, f.backup("old").Status.Phase)
	assert.Equal(t, "expired by retention: the store no longer holds 20251228-030001F (seen after backup "+incrLabel+")",
		f.backup("old").Status.Message)
	assert.Equal(t, v1alpha1.BackupCompleted, f.backup("full").Status.Phase, "still in the store")
	assert.Equal(t, v1alpha1.BackupCompleted, f.backup("else").Status.Phase, "another cluster's")
	assert.Equal(t, v1alpha1.BackupCompleted, f.backup("newer").Status.Phase, "newer than the report")
	names := []string{}
	for _, j := range f.jobs() {
		names = append(names, j.Name)
	}
	assert.Equal(t, []string{"b1"}, names, "the expired backup's Job is deleted")

	assert.Equal(t, []string{
		"PostgresBackup/old Normal BackupExpired " + f.backup("old").Status.Message,
		"PostgresBackup/b1 Normal BackupCompleted backup " + incrLabel + " completed: 1.2 GiB, 1.2 KiB stored",
		"PostgresCluster/demo Normal BackupCompleted PostgresBackup b1: backup " + incrLabel + " completed: 1.2 GiB, 1.2 KiB stored",
	}, f.recorder.take())
	assert.Zero(t, f.syncBackup("b1"))
	assert.Empty(t, f.recorder.take())
}

func TestBackupCompletesWithAWarning(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), memberPod("demo", "demo-2", true, true))
	f.syncBackup("b1")
	f.recorder.take()
	log := "BACKUP-WARNING retention by age (fullDays) not applied: [039]: HTTP request failed\n" + sampleLog(t, incrLabel)
	f.finishJob("b1", true, log, "")
	f.syncBackup("b1")
	b := f.backup("b1")
	assert.Equal(t, v1alpha1.BackupCompleted, b.Status.Phase)
	assert.Equal(t, "retention by age (fullDays) not applied: [039]: HTTP request failed", b.Status.Message)
	assert.Contains(t, f.recorder.take(), "PostgresBackup/b1 Warning BackupCompleted backup "+incrLabel+": "+b.Status.Message)
}

func TestBackupCompletesWithoutItsReport(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), memberPod("demo", "demo-2", true, true))
	f.syncBackup("b1")
	f.finishJob("b1", true, "fake logs", "")
	f.syncBackup("b1")
	b := f.backup("b1")
	assert.Equal(t, v1alpha1.BackupCompleted, b.Status.Phase, "the Job succeeded: the backup is in the store")
	assert.Equal(t, "the backup succeeded but its report could not be read: no BACKUP-RESULT line in the Job's log", b.Status.Message)
	assert.Equal(t, t0, b.Status.StopTime.Time, "the Job's completion")
	assert.Empty(t, b.Status.Label)
}

func TestBackupFails(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), memberPod("demo", "demo-2", true, true))
	f.syncBackup("b1")
	f.recorder.take()
	f.finishJob("b1", false, "", "stanza-create failed: ERROR: [039]: HTTP request failed with 403 (Forbidden):\n"+
		"            *** Path/Query ***:\n            /?delimiter=%2F\n")
	f.syncBackup("b1")
	b := f.backup("b1")
	assert.Equal(t, v1alpha1.BackupFailed, b.Status.Phase)
	want := "stanza-create failed: ERROR: [039]: HTTP request failed with 403 (Forbidden): *** Path/Query ***: /?delimiter=%2F"
	assert.Equal(t, want, b.Status.Message)
	assert.Equal(t, []string{
		"PostgresBackup/b1 Warning BackupFailed backup failed: " + want,
		"PostgresCluster/demo Warning BackupFailed PostgresBackup b1: backup failed: " + want,
	}, f.recorder.take())
}

func TestBackupWhosePodTheKubeletRefused(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), memberPod("demo", "demo-2", true, true))
	f.syncBackup("b1")
	f.finishJob("b1", false, "", "")
	pod, err := f.kube.CoreV1().Pods(ns).Get(f.ctx, "b1-x7k2p", metav1.GetOptions{})
	require.NoError(t, err)
	pod.Spec.NodeName = "node-a"
	pod.Status.ContainerStatuses = nil
	pod.Status.Reason, pod.Status.Message = "OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu"
	_, err = f.kube.CoreV1().Pods(ns).Update(f.ctx, pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.syncBackup("b1")
	assert.Equal(t, "the backup's pod failed on node node-a: OutOfcpu: Pod was rejected: Node didn't have enough resource: cpu",
		f.backup("b1").Status.Message)
}

func TestBackupPastItsDeadline(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), memberPod("demo", "demo-2", true, true))
	f.syncBackup("b1")
	job := f.job("b1")
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue,
		Reason: batchv1.JobReasonDeadlineExceeded, Message: "Job was active longer than specified deadline"}}
	_, err := f.kube.BatchV1().Jobs(ns).UpdateStatus(f.ctx, job, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.syncBackup("b1")
	assert.Equal(t, "the backup Job ran longer than its deadline (6h0m0s)", f.backup("b1").Status.Message)
}

func TestBackupWhoseJobIsDeleted(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), memberPod("demo", "demo-2", true, true))
	f.syncBackup("b1")
	require.NoError(t, f.kube.BatchV1().Jobs(ns).Delete(f.ctx, "b1", metav1.DeleteOptions{}))
	f.syncBackup("b1")
	b := f.backup("b1")
	assert.Equal(t, v1alpha1.BackupFailed, b.Status.Phase)
	assert.Equal(t, "the backup's Job b1 was deleted before it finished", b.Status.Message)
}

// A Running backup whose Job the cache does not show yet is not failed.
func TestRunningBackupWithAStaleJobCache(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), memberPod("demo", "demo-2", true, true))
	f.syncBackup("b1")
	f.refresh()
	require.NoError(t, f.inf.Jobs.Informer().GetIndexer().Replace(nil, ""))
	_, err := f.c.syncBackup(f.ctx, cache.NewObjectName(ns, "b1"))
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.BackupRunning, f.backup("b1").Status.Phase)
}

// A Job the status write did not record (the write was lost) is adopted.
func TestBackupAdoptsItsJob(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), memberPod("demo", "demo-2", true, true))
	f.syncBackup("b1")
	b := f.backup("b1")
	b.Status = v1alpha1.PostgresBackupStatus{}
	_, err := f.pg.PostgresV1alpha1().PostgresBackups(ns).UpdateStatus(f.ctx, b, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.syncBackup("b1")
	assert.Equal(t, v1alpha1.BackupRunning, f.backup("b1").Status.Phase)
	assert.Equal(t, "b1", f.backup("b1").Status.Job)
	assert.Len(t, f.jobs(), 1)
}

// A Job of the backup's name that is not its own (a deleted backup's, not
// yet collected) is waited for, never adopted.
func TestBackupWaitsForAForeignJob(t *testing.T) {
	previous := backupOf("b1", "demo")
	previous.UID = "uid-previous"
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Name: "b1", Namespace: ns, Labels: map[string]string{ClusterLabel: "demo", BackupLabel: "b1"},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(previous, v1alpha1.SchemeGroupVersion.WithKind("PostgresBackup"))},
	}}
	f := newFixture(t, cluster("demo"), backupOf("b1", "demo"), memberPod("demo", "demo-2", true, true), job)
	assert.Equal(t, pendingRecheck, f.syncBackup("b1"))
	assert.Contains(t, f.backup("b1").Status.Message, "waiting for Job b1, which is not this backup's")
}

// The container's exit ends the backup: the Job's condition comes a second
// or two later and is not waited for.
func TestBackupEndsWhenItsContainerExits(t *testing.T) {
	f := newFixture(t, cluster("demo"), backupOf("ok", "demo"), backupOf("bad", "other"),
		cluster("other"), memberPod("demo", "demo-2", true, true), memberPod("other", "other-1", true, true))
	f.syncBackup("ok")
	f.exitPod("ok", true, sampleLog(t, incrLabel), "")
	f.syncBackup("ok")
	assert.Equal(t, v1alpha1.BackupCompleted, f.backup("ok").Status.Phase)
	assert.Equal(t, incrLabel, f.backup("ok").Status.Label)

	f.syncBackup("bad")
	f.exitPod("bad", false, "", "ERROR: [037]: unable to acquire lock")
	f.syncBackup("bad")
	assert.Equal(t, v1alpha1.BackupFailed, f.backup("bad").Status.Phase)
	assert.Equal(t, "ERROR: [037]: unable to acquire lock", f.backup("bad").Status.Message)
}
