package backup

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/pgbackrest"
)

func testJobInput() jobInput {
	pgc := cluster("demo")
	pgc.Spec.Pod.Tolerations = []corev1.Toleration{{Key: "dedicated", Value: "postgres", Effect: corev1.TaintEffectNoExecute}}
	return jobInput{backup: backupOf("nightly", "demo"), cluster: pgc, primary: memberPod("demo", "demo-2", true, true)}
}

func TestBuildJob(t *testing.T) {
	in := testJobInput()
	job, err := buildJob(in)
	require.NoError(t, err)

	assert.Equal(t, "nightly", job.Name)
	assert.Equal(t, ns, job.Namespace)
	wantLabels := map[string]string{ClusterLabel: "demo", managedByLabel: managedBy, BackupLabel: "nightly"}
	assert.Equal(t, wantLabels, job.Labels)
	assert.Equal(t, wantLabels, job.Spec.Template.Labels, "the pod is in the operator's filtered caches")
	assert.NotContains(t, job.Spec.Template.Labels, memberLabel, "the pod is not a member")
	assert.Equal(t, "demo-2", job.Annotations[primaryAnnotation])
	require.Len(t, job.OwnerReferences, 1)
	owner := job.OwnerReferences[0]
	assert.Equal(t, "PostgresBackup", owner.Kind)
	assert.Equal(t, "nightly", owner.Name)
	assert.Equal(t, in.backup.UID, owner.UID)
	assert.True(t, *owner.Controller)

	assert.Equal(t, ptr.To[int32](0), job.Spec.BackoffLimit)
	assert.Equal(t, ptr.To[int64](6*3600), job.Spec.ActiveDeadlineSeconds)
	pod := job.Spec.Template.Spec
	assert.Equal(t, "node-a", pod.NodeName, "on the primary's node")
	assert.Equal(t, in.cluster.Spec.Pod.Tolerations, pod.Tolerations)
	assert.Equal(t, corev1.RestartPolicyNever, pod.RestartPolicy)
	assert.False(t, *pod.AutomountServiceAccountToken)
	assert.False(t, *pod.EnableServiceLinks)
	sc := pod.SecurityContext
	assert.Equal(t, int64(999), *sc.RunAsUser)
	assert.Equal(t, int64(999), *sc.RunAsGroup)
	assert.Equal(t, int64(999), *sc.FSGroup)
	assert.True(t, *sc.RunAsNonRoot)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)

	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	assert.Equal(t, containerName, c.Name)
	assert.Equal(t, "localhost/postgres:15-pgbackrest", c.Image, "the primary's image")
	assert.Equal(t, []string{"/bin/sh", "-c", pgbackrest.KeysScript + "\n" + backupScript}, c.Command)
	assert.Equal(t, corev1.TerminationMessageFallbackToLogsOnError, c.TerminationMessagePolicy)
	assert.Empty(t, c.Resources.Limits)
	assert.Equal(t, resource.MustParse("100m"), c.Resources.Requests[corev1.ResourceCPU])
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	assert.Equal(t, []corev1.VolumeMount{
		{Name: "data", MountPath: "/var/lib/postgresql/data", ReadOnly: true},
		{Name: "repo-keys", MountPath: pgbackrest.RepoKeysDir, ReadOnly: true},
		{Name: "tmp", MountPath: "/tmp"},
	}, c.VolumeMounts)

	require.Len(t, pod.Volumes, 3)
	assert.Equal(t, "demo-2-data", pod.Volumes[0].PersistentVolumeClaim.ClaimName, "the primary's claim")
	keys := pod.Volumes[1].Projected
	require.NotNil(t, keys)
	require.Len(t, keys.Sources, 2, "keys and CA")
	assert.Equal(t, "s3-creds", keys.Sources[0].Secret.Name)
	assert.Equal(t, "s3-ca", keys.Sources[1].Secret.Name)
	for _, s := range keys.Sources {
		assert.True(t, *s.Secret.Optional, "a missing Secret fails the script with its name, not the pod's start")
	}
	assert.NotNil(t, pod.Volumes[2].EmptyDir)
}

func TestBuildJobEnv(t *testing.T) {
	job, err := buildJob(testJobInput())
	require.NoError(t, err)
	env := map[string]string{}
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		_, dup := env[e.Name]
		assert.False(t, dup, "%s set twice", e.Name)
		assert.Nil(t, e.ValueFrom, "no secret in the environment: %s", e.Name)
		env[e.Name] = e.Value
	}
	for name, want := range map[string]string{
		"PGBACKREST_STANZA":               "db",
		"PGBACKREST_PG1_PATH":             "/var/lib/postgresql/data/pgdata",
		"PGBACKREST_PG1_SOCKET_PATH":      "/var/lib/postgresql/data/run",
		"PGBACKREST_REPO1_S3_ENDPOINT":    "minio.object-store.svc",
		"PGBACKREST_REPO1_STORAGE_PORT":   "9000",
		"PGBACKREST_REPO1_S3_BUCKET":      "backups",
		"PGBACKREST_REPO1_S3_URI_STYLE":   "path",
		"PGBACKREST_REPO1_PATH":           "/db/demo",
		"PGBACKREST_REPO1_RETENTION_FULL": "3",
		"PGBACKREST_START_FAST":           "y",
		"BACKUP_TYPE":                     "incr",
		"FULL_DAYS":                       "14",
		"KEYS_DIR":                        pgbackrest.RepoKeysDir,
		"KEYS_SECRET":                     "s3-creds",
	} {
		assert.Equal(t, want, env[name], name)
	}
	assert.Equal(t, pgbackrest.LockDir, env["PGBACKREST_LOCK_PATH"], "the script creates it")
}

func TestBuildJobDefaults(t *testing.T) {
	in := testJobInput()
	in.backup.Spec.Type = ""
	in.cluster.Spec.Backup.Retention = v1alpha1.BackupRetention{}
	job, err := buildJob(in)
	require.NoError(t, err)
	env := map[string]string{}
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	assert.Equal(t, "full", env["BACKUP_TYPE"])
	assert.Equal(t, "7", env["PGBACKREST_REPO1_RETENTION_FULL"])
	assert.Contains(t, env, "FULL_DAYS")
	assert.Empty(t, env["FULL_DAYS"], "no retention by age")
}

func TestBuildJobRefusesABadEndpoint(t *testing.T) {
	in := testJobInput()
	in.cluster.Spec.Backup.ObjectStore.Endpoint = "http://minio:9000"
	_, err := buildJob(in)
	assert.ErrorContains(t, err, "https://")
}

func TestNames(t *testing.T) {
	assert.Equal(t, "nightly", jobName("nightly"))
	long := strings.Repeat("a", 60) + ".b-" + strings.Repeat("c", 100)
	other := strings.Repeat("a", 60) + ".b-" + strings.Repeat("d", 100)
	for _, n := range []string{jobName(long), shortName(long)} {
		assert.LessOrEqual(t, len(n), 63)
		assert.Empty(t, validation.IsDNS1123Subdomain(n))
		assert.Empty(t, validation.IsValidLabelValue(n))
	}
	assert.NotEqual(t, jobName(long), jobName(other), "the hash tells long names apart")
	assert.Equal(t, jobName(long), jobName(long))
	// A cut that ends on '-' or '.' is trimmed so the name ends alphanumeric.
	dotted := strings.Repeat("a", 53) + "." + strings.Repeat("b", 20)
	assert.Empty(t, validation.IsDNS1123Subdomain(jobName(dotted)))

	paris := time.FixedZone("CET", 3600)
	assert.Equal(t, "demo-20260105030000", scheduledName("demo", time.Date(2026, 1, 5, 4, 0, 0, 0, paris)), "UTC")
	assert.LessOrEqual(t, len(scheduledName(strings.Repeat("x", 40), t0)), 63)
}
