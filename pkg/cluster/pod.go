package cluster

import (
	_ "embed"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// memberScript is the container command of every member (see member.sh).
//
//go:embed member.sh
var memberScript string

const (
	postgresUID     = 999 // the postgres user of the official images
	postgresPort    = 5432
	dataMountPath   = "/var/lib/postgresql/data"
	pgdataPath      = dataMountPath + "/pgdata"
	runDir          = "/var/run/postgresql"
	podinfoDir      = "/etc/podinfo"
	secretsDir      = "/etc/postgres-secrets"
	replicationUser = "replicator"
	containerName   = "postgres"
)

// memberPod describes one member pod to build.
type memberPod struct {
	Name      string
	Role      string // RolePrimary or RoleReplica
	Bootstrap string // BootstrapInitdb, BootstrapClone or BootstrapRecovery
	Image     string
}

// buildPod returns the pod of one member. It is a pure function of the
// cluster and the member, so a test can pin every field.
func buildPod(pgc *v1alpha1.PostgresCluster, m memberPod) *corev1.Pod {
	labels := memberLabels(pgc.Name, m.Name)
	for k, v := range pgc.Spec.Pod.Labels {
		labels[k] = v
	}
	labels[RoleLabel] = m.Role
	annotations := map[string]string{}
	for k, v := range pgc.Spec.Pod.Annotations {
		annotations[k] = v
	}
	annotations[BootstrapAnnotation] = m.Bootstrap
	annotations[SpecHashAnnotation] = podSpecHash(pgc, m.Image)
	annotations[FenceAfterAnnotation] = strconv.Itoa(int(fenceAfter(pgc) / time.Second)) // fence_probe.go
	annotations[FenceReplyDiscountAnnotation] = strconv.Itoa(int(fenceReplyDiscount(fenceAfter(pgc)) / time.Second))
	annotations[FenceBeatDiscountAnnotation] = strconv.FormatInt(fenceBeatDiscount(fenceAfter(pgc)).Milliseconds(), 10)

	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            m.Name,
			Namespace:       pgc.Namespace,
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{ownerRef(pgc)},
		},
		Spec: corev1.PodSpec{
			// No API access is needed inside a member.
			// Never restart a member's container in place: after a crash the
			// kubelet would bring an old primary back within a second, before
			// the operator could fence it. A failed pod is replaced by the
			// operator instead (planRestarts), which decides its role first.
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			SecurityContext:               podSecurityContext(),
			NodeSelector:                  pgc.Spec.Pod.NodeSelector,
			Tolerations:                   pgc.Spec.Pod.Tolerations,
			Affinity:                      pgc.Spec.Pod.Affinity,
			TopologySpreadConstraints:     topologySpread(pgc), // topology.go
			Containers:                    []corev1.Container{postgresContainer(pgc, m)},
			Volumes:                       memberVolumes(pgc, m),
		},
	}
}

func podSecurityContext() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsUser:  ptr.To[int64](postgresUID),
		RunAsGroup: ptr.To[int64](postgresUID),
		FSGroup:    ptr.To[int64](postgresUID),
		// Only the volume's root is chowned, once: a recursive change on
		// every mount would loosen PGDATA's 0700, which PostgreSQL refuses.
		FSGroupChangePolicy: ptr.To(corev1.FSGroupChangeOnRootMismatch),
		RunAsNonRoot:        ptr.To(true),
		SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func postgresContainer(pgc *v1alpha1.PostgresCluster, m memberPod) corev1.Container {
	_, backupMounts := backupVolumes(pgc, m) // backup_pod.go
	return corev1.Container{
		Name:            containerName,
		Image:           m.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"/bin/sh", "-c", memberScript},
		Env:             memberEnv(pgc, m),
		Ports:           []corev1.ContainerPort{{Name: "postgres", ContainerPort: postgresPort, Protocol: corev1.ProtocolTCP}},
		Resources:       pgc.Spec.Resources,
		ReadinessProbe:  readinessProbe(),
		LivenessProbe:   fenceProbe(pgc), // fence_probe.go
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		VolumeMounts: append([]corev1.VolumeMount{
			{Name: "data", MountPath: dataMountPath},
			{Name: "run", MountPath: runDir},
			{Name: "tmp", MountPath: "/tmp"},
			{Name: "shm", MountPath: "/dev/shm"},
			{Name: "podinfo", MountPath: podinfoDir, ReadOnly: true},
			{Name: "credentials", MountPath: secretsDir, ReadOnly: true},
			tlsPodMount(), // tls_pod.go
		}, backupMounts...),
	}
}

func memberEnv(pgc *v1alpha1.PostgresCluster, m memberPod) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: "PGDATA", Value: pgdataPath},
		// check_major refuses an image of another major version (safety_image.go).
		{Name: "POSTGRES_MAJOR", Value: strconv.Itoa(int(pgc.Spec.PostgresVersion))},
		{Name: "POD_NAME", Value: m.Name},
		{Name: "BOOTSTRAP", Value: m.Bootstrap},
		{Name: "PRIMARY_HOST", Value: RWServiceName(pgc.Name)},
		{Name: "PRIMARY_CONNINFO", Value: tlsConninfo(pgc, RWServiceName(pgc.Name), m.Name)},
		{Name: "SLOT_NAME", Value: postgres.SlotName(m.Name)},
		{Name: "REPLICATION_USER", Value: replicationUser},
		{Name: "VOLUME_SOCKET_DIR", Value: volumeSocketDir},
	}
	env = append(env, tlsEnv(pgc)...)       // tls_pod.go
	env = append(env, backupEnv(pgc, m)...) // backup_pod.go
	params := renderedParameters(pgc)
	if m.Bootstrap == BootstrapInitdb {
		// Only read by initdb, so restart-only settings apply from the first start.
		env = append(env, corev1.EnvVar{Name: "BOOTSTRAP_PARAMETERS", Value: params})
	}
	// Written at every start (apply_spec_parameters), so a fixed spec reaches
	// a member that could not start with the old one. Not in the spec hash:
	// a change is applied over SQL and rolled only if it needs a restart.
	return append(env, corev1.EnvVar{Name: "SPEC_PARAMETERS", Value: params})
}

// readinessProbe: a primary is ready when it answers; a replica when it
// streams from the primary, up to or past what it has replayed. A replica
// whose history left the primary's (an async failover promoted a member
// behind it) re-streams its old timeline from the segment's start up to the
// fork every wal_retrieve_retry_interval and reads "streaming" much of the
// time, but what it receives never reaches what it replayed: it must not
// serve its diverged data behind -ro. A healthy receiver also starts at its
// segment's start, and passes that point within milliseconds. The probe is
// role-agnostic so a promoted replica stays ready without waiting for its
// label file to refresh. psql exits 0 whatever a query returns, so a
// standby that is not streaming raises an error, which makes psql exit 1
// and names the reason in the probe's output. The body is quoted with a
// named tag: the kubelet expands "$$" in a command to "$".
func readinessProbe() *corev1.Probe {
	const check = "DO $probe$BEGIN IF pg_is_in_recovery() AND NOT EXISTS " +
		"(SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming' AND flushed_lsn >= pg_last_wal_replay_lsn()) " +
		"THEN RAISE EXCEPTION 'standby is not streaming from the primary'; END IF; END$probe$"
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{
			"psql", "-h", runDir, "-U", "postgres", "-d", "postgres", "-XAtq", "-c", check,
		}}},
		PeriodSeconds:    2,
		TimeoutSeconds:   2,
		FailureThreshold: 3,
		SuccessThreshold: 1,
	}
}

func memberVolumes(pgc *v1alpha1.PostgresCluster, m memberPod) []corev1.Volume {
	memory := corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
	backup, _ := backupVolumes(pgc, m) // backup_pod.go
	return append([]corev1.Volume{
		{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: PVCName(m.Name)}}},
		// The run directory holds the password file, so it lives in memory.
		{Name: "run", VolumeSource: corev1.VolumeSource{EmptyDir: &memory}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "shm", VolumeSource: corev1.VolumeSource{EmptyDir: &memory}},
		{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}},
		}}},
		credentialsVolume(pgc),
		tlsPodVolume(pgc), // tls_pod.go
	}, backup...)
}

// credentialsVolume mounts the operator's record, not the user Secrets: a
// member only ever uses a password its role has. A rotated password
// reaches running members when the kubelet refreshes the volume (member.sh
// rewrites its password file from it), and a restarted member at once. The
// paths are those member.sh reads.
func credentialsVolume(pgc *v1alpha1.PostgresCluster) corev1.Volume {
	return corev1.Volume{Name: "credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: CredentialsSecretName(pgc.Name),
		Items: []corev1.KeyToPath{
			{Key: recordSuperuserKey, Path: "superuser/password"},
			{Key: recordReplicationKey, Path: "replication/password"},
		},
		DefaultMode: ptr.To[int32](0o440), // group-readable: fsGroup is postgres
	}}}
}

func ownerRef(pgc *v1alpha1.PostgresCluster) metav1.OwnerReference {
	return *metav1.NewControllerRef(pgc, v1alpha1.SchemeGroupVersion.WithKind("PostgresCluster"))
}

// intstrPort is the Service target port.
var intstrPort = intstr.FromInt32(postgresPort)
