package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

func withBackup(pgc *v1alpha1.PostgresCluster) {
	pgc.Spec.Backup = &v1alpha1.BackupSpec{ObjectStore: v1alpha1.ObjectStore{
		Endpoint: "https://s3.object-store.svc", Bucket: "backups", URIStyle: "path",
		Credentials: v1alpha1.SecretName{Secret: "s3-creds"}, CA: &v1alpha1.SecretName{Secret: "s3-ca"},
	}}
}

func envOf(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	for _, e := range pod.Spec.Containers[0].Env {
		out[e.Name] = e.Value
	}
	return out
}

func TestBackupEnvArchivesToOwnPathNeverTheSource(t *testing.T) {
	pgc := testCluster(1, withBackup)
	pgc.Spec.Bootstrap = &v1alpha1.BootstrapSpec{Recovery: &v1alpha1.RecoverySpec{
		Source: v1alpha1.ObjectStore{Endpoint: "https://s3.example:9000", Bucket: "old", Path: "/ns/source",
			Credentials: v1alpha1.SecretName{Secret: "old-creds"}},
		Target: &v1alpha1.RecoveryTarget{Time: "2026-12-01T17:04:05Z"},
	}}
	env := envOf(buildPod(pgc, memberPod{Name: "c-1", Role: RolePrimary, Bootstrap: seedBootstrap(pgc), Image: "pg"}))

	assert.Equal(t, BootstrapRecovery, env["BOOTSTRAP"])
	assert.Equal(t, "/"+pgc.Namespace+"/"+pgc.Name, env["PGBACKREST_REPO1_PATH"], "archives to its own default path")
	assert.Equal(t, "s3.object-store.svc", env["PGBACKREST_REPO1_S3_ENDPOINT"])
	assert.Equal(t, "443", env["PGBACKREST_REPO1_STORAGE_PORT"])
	assert.Equal(t, "/ns/source", env["SOURCE_PGBACKREST_REPO1_PATH"], "restores from the source")
	assert.Equal(t, "s3.example", env["SOURCE_PGBACKREST_REPO1_S3_ENDPOINT"])
	assert.Equal(t, "9000", env["SOURCE_PGBACKREST_REPO1_STORAGE_PORT"])
	assert.Equal(t, "time", env["RECOVERY_TYPE"])
	assert.Equal(t, "2026-12-01 17:04:05+00", env["RECOVERY_TARGET"])
	assert.NotEmpty(t, env["PGBR_SCRIPT"])
	for name, value := range env {
		assert.NotContains(t, name, "S3_KEY", "keys are read from files, never put in the environment: %s=%s", name, value)
	}
}

func TestBackupReplicaHasNoRecoverySource(t *testing.T) {
	pgc := testCluster(2, withBackup)
	env := envOf(buildPod(pgc, memberPod{Name: "c-2", Role: RoleReplica, Bootstrap: BootstrapClone, Image: "pg"}))
	assert.NotContains(t, env, "SOURCE_PGBACKREST_REPO1_PATH")
	assert.Equal(t, "y", env["PGBACKREST_ARCHIVE_ASYNC"])
}

func TestBackupTurnedOnRollsMembers(t *testing.T) {
	without := testCluster(1)
	with := testCluster(1, withBackup)
	assert.NotEqual(t, podSpecHash(without, "pg"), podSpecHash(with, "pg"), "archive_mode needs a restart")
	schedule := testCluster(1, withBackup)
	schedule.Spec.Backup.Schedule = "@daily"
	assert.Equal(t, podSpecHash(with, "pg"), podSpecHash(schedule, "pg"), "a schedule change restarts nothing")
}

func TestArchiveTimeoutDefaultsTo60s(t *testing.T) {
	pgc := testCluster(1, withBackup)
	assert.Equal(t, "60", desiredParameters(pgc)["archive_timeout"])
	pgc.Spec.Backup.ArchiveTimeout = &metav1.Duration{Duration: 5 * time.Second}
	assert.Equal(t, "5", desiredParameters(pgc)["archive_timeout"])
	assert.NotContains(t, desiredParameters(testCluster(1)), "archive_timeout")
}

func TestVolumesLostWithBackupsSaysHowToRecover(t *testing.T) {
	pgc := testCluster(1, withBackup)
	a, ok := planVolumesLost(planInput{cluster: pgc, obs: &observation{}})
	require.True(t, ok)
	assert.Equal(t, actFail, a.kind)
	assert.Contains(t, a.reason, "spec.bootstrap.recovery.source")
	assert.Contains(t, a.reason, "recoverWhenVolumesLost")

	pgc.Spec.Backup.RecoverWhenVolumesLost = true
	pgc.Status.LastOrdinal = 3
	a, _ = planVolumesLost(planInput{cluster: pgc, obs: &observation{}})
	assert.Equal(t, actCreateMember, a.kind)
	assert.Equal(t, BootstrapRecovery, a.bootstrap)
	assert.Equal(t, RolePrimary, a.role)
	assert.Equal(t, int32(4), a.ordinal, "a new ordinal: ordinals are never reused")
}

func TestArchivingConditions(t *testing.T) {
	now := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	ok := postgres.ArchiverStatus{ArchivedCount: 3, LastArchivedWAL: "000000010000000000000003", LastArchivedTime: now}
	s, reason, _ := archivingCondition(ok, nil)
	assert.Equal(t, metav1.ConditionTrue, s)
	assert.Equal(t, reasonArchiving, reason)

	failing := ok
	failing.LastFailedTime, failing.LastFailedWAL, failing.LastError = now.Add(time.Second), "000000010000000000000004", "ERROR: [049]: unable to get address"
	s, reason, msg := archivingCondition(failing, nil)
	assert.Equal(t, metav1.ConditionFalse, s)
	assert.Equal(t, reasonArchivingFailing, reason)
	assert.Contains(t, msg, "unable to get address")

	dropped := ok
	dropped.Dropped, dropped.DroppedAt = 2, now
	_, reason, _ = archivingCondition(dropped, nil)
	assert.Equal(t, reasonWALDropped, reason)
	later := metav1.NewTime(now.Add(time.Minute))
	_, reason, _ = archivingCondition(dropped, &later)
	assert.Equal(t, reasonArchiving, reason, "a backup after the drop is a new start")

	s, _, _ = archivingCondition(postgres.ArchiverStatus{}, nil)
	assert.Equal(t, metav1.ConditionUnknown, s)
}

func TestBackupStatusFromBackups(t *testing.T) {
	pgc := testCluster(1, withBackup)
	at := func(h int) *metav1.Time { t := metav1.NewTime(time.Date(2026, 12, 1, h, 0, 0, 0, time.UTC)); return &t }
	backup := func(name string, h int, phase v1alpha1.BackupPhase) *v1alpha1.PostgresBackup {
		return &v1alpha1.PostgresBackup{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: *at(h)},
			Status: v1alpha1.PostgresBackupStatus{Phase: phase, StopTime: at(h)}}
	}
	obs := &observation{backup: backupObs{backups: []*v1alpha1.PostgresBackup{
		backup("expired", 1, v1alpha1.BackupExpired), backup("first", 2, v1alpha1.BackupCompleted),
		backup("last", 4, v1alpha1.BackupCompleted), backup("broken", 5, v1alpha1.BackupFailed),
	}}}
	st := v1alpha1.PostgresClusterStatus{}
	setBackupStatus(&st, pgc, obs)
	require.NotNil(t, st.Backup)
	assert.Equal(t, at(2), st.Backup.FirstRecoverabilityPoint)
	assert.Equal(t, at(4), st.Backup.LastSuccessfulBackup)
	assert.Equal(t, "last", st.Backup.LastSuccessfulBackupName)
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionBackupsHealthy)
	require.NotNil(t, c)
	assert.Equal(t, reasonLastBackupFailed, c.Reason)

	pgc.Spec.Backup.Schedule = "every day at three"
	setBackupStatus(&st, pgc, &observation{})
	c = meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionBackupsHealthy)
	assert.Equal(t, reasonInvalidSchedule, c.Reason)
}

func TestRecoveryIntoItsOwnSourceIsRefused(t *testing.T) {
	pgc := testCluster(1, withBackup)
	pgc.Spec.Bootstrap = &v1alpha1.BootstrapSpec{Recovery: &v1alpha1.RecoverySpec{Source: pgc.Spec.Backup.ObjectStore}}
	pgc.Spec.Bootstrap.Recovery.Source.Path = "/ns/demo" // the default path of ns/demo
	a, ok := planBootstrap(planInput{cluster: pgc, obs: &observation{}})
	require.True(t, ok)
	assert.Equal(t, reasonArchiveIsSource, a.failure)
	assert.NotEqual(t, actCreateMember, a.kind)

	pgc.Spec.Bootstrap.Recovery.Source.Path = "/ns/other"
	a, _ = planBootstrap(planInput{cluster: pgc, obs: &observation{}})
	assert.Equal(t, actCreateMember, a.kind)
	assert.Equal(t, BootstrapRecovery, a.bootstrap)
}

func TestRecoveryTargetUnreachableFailsAtOnce(t *testing.T) {
	pgc := testCluster(1, withBackup)
	pgc.Spec.Bootstrap = &v1alpha1.BootstrapSpec{Recovery: &v1alpha1.RecoverySpec{Source: pgc.Spec.Backup.ObjectStore}}
	pgc.Spec.Bootstrap.Recovery.Source.Path = "/ns/src"
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: containerName}}}}
	pod.Status.Phase = corev1.PodFailed
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 4,
			Message: "recovery-failed: recovery ended before configured recovery target was reached"}}}}
	a, ok := planRecoveryFailed(planInput{cluster: pgc}, &member{name: "demo-1", pod: pod})
	require.True(t, ok)
	assert.Equal(t, reasonRecoveryFailed, a.failure)
	assert.Equal(t, actWait, a.kind, "the failed pod is kept, not retried")
	assert.Contains(t, a.reason, "recovery ended before configured recovery target was reached")

	pod.Status.ContainerStatuses[0].State.Terminated.Message = "restore-failed: ERROR: [039]: HTTP request failed"
	_, ok = planRecoveryFailed(planInput{cluster: pgc}, &member{name: "demo-1", pod: pod})
	assert.False(t, ok, "a failed restore may be transient: retried")
}

func TestRestartAnnotationRollsMembers(t *testing.T) {
	pgc := testCluster(1)
	before := podSpecHash(pgc, "pg")
	pgc.Annotations = map[string]string{v1alpha1.RestartAnnotation: "2026-12-01T18:00:00Z"}
	assert.NotEqual(t, before, podSpecHash(pgc, "pg"), "a new value rolls every member")
	pgc.Annotations[v1alpha1.RestartAnnotation] = ""
	assert.Equal(t, before, podSpecHash(pgc, "pg"), "an empty value changes nothing")
}
