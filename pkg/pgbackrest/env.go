package pgbackrest

import (
	"fmt"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Stanza is the engine's name for a cluster's database inside a repository
// path. Every path holds one cluster, so one name serves all.
const Stanza = "db"

// Paths inside the member and Job containers.
const (
	// RepoKeysDir holds the own repository's access keys and CA
	// (ACCESS_KEY_ID, ACCESS_SECRET_KEY, ca.crt).
	RepoKeysDir = "/etc/pgbackrest/repo"
	// SourceKeysDir holds the recovery source's.
	SourceKeysDir = "/etc/pgbackrest/source"
	// LockDir is on the container's writable /tmp.
	LockDir = "/tmp/pgbackrest"
)

// Secret keys the credentials Secret must hold.
const (
	AccessKeyIDKey     = "ACCESS_KEY_ID"
	AccessSecretKeyKey = "ACCESS_SECRET_KEY"
	CAKey              = "ca.crt"
)

// SourcePrefix marks the recovery source's variables in a member's
// environment: member.sh strips it when it restores, so the source never
// mixes with the repository the member archives to.
const SourcePrefix = "SOURCE_"

// RepoPath is where a cluster's backups live inside the bucket.
func RepoPath(store v1alpha1.ObjectStore, namespace, cluster string) string {
	if store.Path != "" {
		return store.Path
	}
	return "/" + namespace + "/" + cluster
}

// RepoEnv is repository 1 of the engine: the S3 store at path. It fails on
// an endpoint that is not https://host[:port] (the CRD refuses those too).
func RepoEnv(store v1alpha1.ObjectStore, path string) ([]corev1.EnvVar, error) {
	host, port, err := splitEndpoint(store.Endpoint)
	if err != nil {
		return nil, err
	}
	region := store.Region
	if region == "" {
		region = "us-east-1"
	}
	style := string(store.URIStyle)
	if style == "" {
		style = "host"
	}
	env := []corev1.EnvVar{
		{Name: "PGBACKREST_REPO1_TYPE", Value: "s3"},
		{Name: "PGBACKREST_REPO1_S3_ENDPOINT", Value: host},
		{Name: "PGBACKREST_REPO1_STORAGE_PORT", Value: strconv.Itoa(port)},
		{Name: "PGBACKREST_REPO1_S3_BUCKET", Value: store.Bucket},
		{Name: "PGBACKREST_REPO1_S3_REGION", Value: region},
		{Name: "PGBACKREST_REPO1_S3_URI_STYLE", Value: style},
		{Name: "PGBACKREST_REPO1_PATH", Value: path},
	}
	return env, nil
}

// CommonEnv is what every run of the engine shares: the stanza, where the
// data directory and PostgreSQL's socket are, and where it may write.
func CommonEnv(pgdata, socketDir string) []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: "PGBACKREST_STANZA", Value: Stanza},
		{Name: "PGBACKREST_PG1_PATH", Value: pgdata},
		{Name: "PGBACKREST_PG1_SOCKET_PATH", Value: socketDir},
		{Name: "PGBACKREST_PG1_USER", Value: "postgres"},
		{Name: "PGBACKREST_LOCK_PATH", Value: LockDir},
		// Logs go to the container's output, which the kubelet keeps.
		{Name: "PGBACKREST_LOG_LEVEL_FILE", Value: "off"},
		{Name: "PGBACKREST_LOG_LEVEL_CONSOLE", Value: "info"},
		{Name: "PGBACKREST_LOG_LEVEL_STDERR", Value: "off"},
		{Name: "PGBACKREST_COMPRESS_TYPE", Value: "zst"},
		{Name: "PGBACKREST_PROCESS_MAX", Value: "2"},
		// A store that stops answering must fail a run, not hang it.
		{Name: "PGBACKREST_IO_TIMEOUT", Value: "30"},
		{Name: "PGBACKREST_DB_TIMEOUT", Value: "600"},
	}
}

// ArchiveEnv is the asynchronous, parallel WAL archiving of a member: the
// engine queues WAL in spoolDir and pushes it in the background, so a slow
// store never holds a commit. queueMax bounds the backlog: beyond it the
// engine drops WAL rather than fill the volume, and the member's archive
// script records the drop for the operator to report.
func ArchiveEnv(spoolDir string, queueMax int64) []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: "PGBACKREST_ARCHIVE_ASYNC", Value: "y"},
		{Name: "PGBACKREST_SPOOL_PATH", Value: spoolDir},
		{Name: "PGBACKREST_ARCHIVE_PUSH_QUEUE_MAX", Value: strconv.FormatInt(queueMax, 10)},
		// archive_command gives up after this long and PostgreSQL retries:
		// a down store shows as failures in pg_stat_archiver, not a hang.
		{Name: "PGBACKREST_ARCHIVE_TIMEOUT", Value: "30"},
		{Name: "PGBACKREST_ARCHIVE_GET_QUEUE_MAX", Value: "134217728"},
	}
}

// Prefixed returns env with every name prefixed (the recovery source's copy).
func Prefixed(prefix string, env []corev1.EnvVar) []corev1.EnvVar {
	out := make([]corev1.EnvVar, len(env))
	for i, e := range env {
		out[i] = corev1.EnvVar{Name: prefix + e.Name, Value: e.Value}
	}
	return out
}

// KeysVolume projects the access keys and, when named, the CA bundle of a
// store into one directory (RepoKeysDir or SourceKeysDir). The Secrets are
// optional: a missing one must not hold a member or a backup Job in
// ContainerCreating. The engine's runs then fail naming the missing keys,
// which the operator reports, and a Secret created later reaches the
// running pods when the kubelet refreshes the volume.
func KeysVolume(name string, store v1alpha1.ObjectStore) corev1.Volume {
	mode := int32(0o440) // group-readable: the pods' fsGroup is postgres
	optional := true
	sources := []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{
		Optional:             &optional,
		LocalObjectReference: corev1.LocalObjectReference{Name: store.Credentials.Secret},
		Items: []corev1.KeyToPath{
			{Key: AccessKeyIDKey, Path: AccessKeyIDKey},
			{Key: AccessSecretKeyKey, Path: AccessSecretKeyKey},
		},
	}}}
	if store.CA != nil {
		sources = append(sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			Optional:             &optional,
			LocalObjectReference: corev1.LocalObjectReference{Name: store.CA.Secret},
			Items:                []corev1.KeyToPath{{Key: CAKey, Path: CAKey}},
		}})
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: sources, DefaultMode: &mode,
	}}}
}

func splitEndpoint(endpoint string) (string, int, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
		return "", 0, fmt.Errorf("objectStore.endpoint %q must be https://host[:port]", endpoint)
	}
	port := 443
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("objectStore.endpoint %q has a bad port", endpoint)
		}
	}
	return u.Hostname(), port, nil
}
