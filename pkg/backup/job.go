package backup

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/pgbackrest"
)

// What the Job assumes of a member pod (pkg/cluster builds them; its tests
// can pin these against its own names).
const (
	// DataMountPath is where members mount their volume; the Job mounts the
	// primary's there too, so the engine's pg1-path is PostgreSQL's own
	// data_directory, which the engine checks.
	DataMountPath = "/var/lib/postgresql/data"
	// PGDataPath is PGDATA.
	PGDataPath = DataMountPath + "/pgdata"
	// SocketDir is the members' second socket directory, kept on the volume
	// so that a pod mounting the volume reaches PostgreSQL (as the postgres
	// user, with peer authentication).
	SocketDir = DataMountPath + "/run"
	// DataVolumeName is the members' volume of their claim.
	DataVolumeName = "data"
	// PostgresContainerName is the members' container, whose image the Job runs.
	PostgresContainerName = "postgres"
)

const (
	containerName = "backup"
	postgresUID   = 999

	defaultFullCount = 7
	// jobDeadline bounds a run, a stuck one included (a hung store, a pod
	// that cannot start); the next backup of the cluster waits for it.
	jobDeadline = 6 * 3600
)

// jobInput is what a backup's Job is made from.
type jobInput struct {
	backup  *v1alpha1.PostgresBackup
	cluster *v1alpha1.PostgresCluster // has spec.backup
	primary *corev1.Pod               // ready, with a data volume
}

// buildJob returns the Job that runs one backup. It is pure, so a test can
// pin every field; it fails only on a store the CRD should have refused.
func buildJob(in jobInput) (*batchv1.Job, error) {
	b, pgc := in.backup, in.cluster
	env, err := jobEnv(in)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{
		ClusterLabel:   pgc.Name,
		managedByLabel: managedBy,
		BackupLabel:    shortName(b.Name),
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            jobName(b.Name),
			Namespace:       b.Namespace,
			Labels:          labels,
			Annotations:     map[string]string{primaryAnnotation: in.primary.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(b, v1alpha1.SchemeGroupVersion.WithKind("PostgresBackup"))},
		},
		Spec: batchv1.JobSpec{
			// A failed backup is reported, not retried: the next one is a
			// new PostgresBackup (or the schedule's next firing).
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: ptr.To[int64](jobDeadline),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       podSpec(in, env),
			},
		},
	}, nil
}

func podSpec(in jobInput, env []corev1.EnvVar) corev1.PodSpec {
	store := in.cluster.Spec.Backup.ObjectStore
	return corev1.PodSpec{
		// The primary's node: the volume is attached there already, and an
		// RWO volume can be mounted by two pods of one node only.
		NodeName: in.primary.Spec.NodeName,
		// The members' tolerations, so a taint they tolerate (NoExecute
		// included) does not evict the backup.
		Tolerations:                  in.cluster.Spec.Pod.Tolerations,
		RestartPolicy:                corev1.RestartPolicyNever,
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsUser:  ptr.To[int64](postgresUID),
			RunAsGroup: ptr.To[int64](postgresUID),
			FSGroup:    ptr.To[int64](postgresUID),
			// Never chown the data: the volume is the primary's.
			FSGroupChangePolicy: ptr.To(corev1.FSGroupChangeOnRootMismatch),
			RunAsNonRoot:        ptr.To(true),
			SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:                     containerName,
			Image:                    primaryImage(in.primary),
			ImagePullPolicy:          corev1.PullIfNotPresent,
			Command:                  []string{"/bin/sh", "-c", jobScript()},
			Env:                      env,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			// Requests only: a backup may use what the node has spare.
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("128Mi"),
			}},
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false),
				ReadOnlyRootFilesystem:   ptr.To(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
			VolumeMounts: []corev1.VolumeMount{
				{Name: DataVolumeName, MountPath: DataMountPath, ReadOnly: true},
				{Name: "repo-keys", MountPath: pgbackrest.RepoKeysDir, ReadOnly: true},
				{Name: "tmp", MountPath: "/tmp"},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: DataVolumeName, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: dataClaim(in.primary),
			}}},
			pgbackrest.KeysVolume("repo-keys", store), // optional Secrets: the script names a missing one
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
}

func jobEnv(in jobInput) ([]corev1.EnvVar, error) {
	spec := in.cluster.Spec.Backup
	repo, err := pgbackrest.RepoEnv(spec.ObjectStore, pgbackrest.RepoPath(spec.ObjectStore, in.cluster.Namespace, in.cluster.Name))
	if err != nil {
		return nil, err
	}
	env := pgbackrest.CommonEnv(PGDataPath, SocketDir)
	env = append(env, repo...)
	env = append(env,
		corev1.EnvVar{Name: "PGBACKREST_REPO1_RETENTION_FULL", Value: strconv.Itoa(int(fullCount(spec.Retention)))},
		// An immediate checkpoint: an asked-for backup starts now, not at
		// the next checkpoint_timeout.
		corev1.EnvVar{Name: "PGBACKREST_START_FAST", Value: "y"},
		corev1.EnvVar{Name: "BACKUP_TYPE", Value: string(backupType(in.backup))},
		corev1.EnvVar{Name: "FULL_DAYS", Value: fullDays(spec.Retention)},
		corev1.EnvVar{Name: "KEYS_DIR", Value: pgbackrest.RepoKeysDir},
		corev1.EnvVar{Name: "KEYS_SECRET", Value: spec.ObjectStore.Credentials.Secret},
	)
	return env, nil
}

func fullCount(r v1alpha1.BackupRetention) int32 {
	if r.FullCount > 0 {
		return r.FullCount
	}
	return defaultFullCount
}

func fullDays(r v1alpha1.BackupRetention) string {
	if r.FullDays > 0 {
		return strconv.Itoa(int(r.FullDays))
	}
	return ""
}

func backupType(b *v1alpha1.PostgresBackup) v1alpha1.BackupType {
	if b.Spec.Type == "" {
		return v1alpha1.BackupFull
	}
	return b.Spec.Type
}

// primaryImage is the image the primary runs: it carries the engine, in the
// version the members archive WAL with.
func primaryImage(pod *corev1.Pod) string {
	for _, c := range pod.Spec.Containers {
		if c.Name == PostgresContainerName {
			return c.Image
		}
	}
	if len(pod.Spec.Containers) > 0 {
		return pod.Spec.Containers[0].Image
	}
	return ""
}

// dataClaim is the claim behind the primary's data volume, "" if none.
func dataClaim(pod *corev1.Pod) string {
	for _, v := range pod.Spec.Volumes {
		if v.Name == DataVolumeName && v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}
