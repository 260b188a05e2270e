package cluster

import (
	_ "embed"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/pgbackrest"
)

// BootstrapRecovery fills an empty seed volume from backups (pgBackRest
// restore) instead of initdb: spec.bootstrap.recovery, or the cluster's own
// backups when every volume is lost and spec.backup.recoverWhenVolumesLost.
const BootstrapRecovery = "recovery"

// pgbrScript runs the engine for PostgreSQL's hooks (archive_command,
// restore_command). member.sh writes it to a file at start: PostgreSQL
// runs a hook as a command line, not as a shell function.
//
//go:embed pgbr.sh
var pgbrScript string

const (
	// volumeSocketDir is PostgreSQL's second socket directory, on the data
	// volume, where a backup Job on the same node reaches the server
	// without a password or a network.
	volumeSocketDir = dataMountPath + "/run"
	// archiveStatusDir, on the volume, is where the archive hook records
	// its last failure and dropped WAL for the operator to read over SQL.
	archiveStatusDir = dataMountPath + "/archive-status"
	spoolDir         = dataMountPath + "/pgbackrest-spool"
)

// archiveQueueMax bounds the WAL waiting for a down store to a quarter of
// the volume: beyond it the engine drops WAL (reported) rather than fill
// the volume and stop the database.
func archiveQueueMax(pgc *v1alpha1.PostgresCluster) int64 {
	return max(pgc.Spec.Storage.Size.Value()/4, 64<<20)
}

// backupEnv is a member's environment for the engine: its own repository
// for archiving, and for a seed that restores, the source's (prefixed).
func backupEnv(pgc *v1alpha1.PostgresCluster, m memberPod) []corev1.EnvVar {
	var env []corev1.EnvVar
	if pgc.Spec.Backup != nil {
		repo, err := pgbackrest.RepoEnv(pgc.Spec.Backup.ObjectStore, ownRepoPath(pgc))
		if err == nil { // the CRD refuses a bad endpoint; without one, no archiving
			env = append(env, pgbackrest.CommonEnv(pgdataPath, volumeSocketDir)...)
			env = append(env, repo...)
			env = append(env, pgbackrest.ArchiveEnv(spoolDir, archiveQueueMax(pgc))...)
			env = append(env, corev1.EnvVar{Name: "ARCHIVE_STATUS_DIR", Value: archiveStatusDir},
				corev1.EnvVar{Name: "REPO_KEYS_SECRET", Value: pgc.Spec.Backup.ObjectStore.Credentials.Secret})
		}
	}
	if m.Bootstrap == BootstrapRecovery {
		env = append(env, recoveryEnv(pgc)...)
	}
	if len(env) > 0 {
		env = append(env, corev1.EnvVar{Name: "PGBR_SCRIPT", Value: pgbackrest.KeysScript + pgbrScript})
	}
	return env
}

// recoveryEnv names the source and the target of a restore.
func recoveryEnv(pgc *v1alpha1.PostgresCluster) []corev1.EnvVar {
	source, target := recoverySource(pgc)
	repo, err := pgbackrest.RepoEnv(source, source.Path)
	if err != nil {
		return nil
	}
	env := pgbackrest.Prefixed(pgbackrest.SourcePrefix, append(pgbackrest.CommonEnv(pgdataPath, runDir), repo...))
	kind, value := targetOf(target)
	env = append(env,
		corev1.EnvVar{Name: "RECOVERY_TYPE", Value: kind},
		corev1.EnvVar{Name: "RECOVERY_TARGET", Value: value},
		corev1.EnvVar{Name: "RECOVERY_EXCLUSIVE", Value: strconv.FormatBool(target != nil && target.Exclusive)},
		corev1.EnvVar{Name: "SOURCE_KEYS_SECRET", Value: source.Credentials.Secret})
	return env
}

// recoverySource is what a recovering seed restores: the spec's source
// while the cluster was never initialised, else (every volume lost) its
// own backups, to their end.
func recoverySource(pgc *v1alpha1.PostgresCluster) (v1alpha1.ObjectStore, *v1alpha1.RecoveryTarget) {
	if r := pgc.Spec.Bootstrap; !pgc.Status.Initialized && r != nil && r.Recovery != nil {
		return r.Recovery.Source, r.Recovery.Target
	}
	own := pgc.Spec.Backup.ObjectStore
	own.Path = ownRepoPath(pgc)
	return own, nil
}

// targetOf is the engine's --type and --target for a recovery target.
func targetOf(t *v1alpha1.RecoveryTarget) (string, string) {
	switch {
	case t == nil:
		return "default", "" // to the end of the archived WAL
	case t.Time != "":
		return "time", engineTime(t.Time)
	case t.LSN != "":
		return "lsn", t.LSN
	case t.Name != "":
		return "name", t.Name
	case t.XID != "":
		return "xid", t.XID
	case t.Immediate:
		return "immediate", ""
	}
	return "default", ""
}

func ownRepoPath(pgc *v1alpha1.PostgresCluster) string {
	return pgbackrest.RepoPath(pgc.Spec.Backup.ObjectStore, pgc.Namespace, pgc.Name)
}

// backupVolumes mount the stores' keys (pgbackrest.KeysVolume).
func backupVolumes(pgc *v1alpha1.PostgresCluster, m memberPod) ([]corev1.Volume, []corev1.VolumeMount) {
	var vols []corev1.Volume
	var mounts []corev1.VolumeMount
	if pgc.Spec.Backup != nil {
		vols = append(vols, pgbackrest.KeysVolume("repo-keys", pgc.Spec.Backup.ObjectStore))
		mounts = append(mounts, corev1.VolumeMount{Name: "repo-keys", MountPath: pgbackrest.RepoKeysDir, ReadOnly: true})
	}
	if m.Bootstrap == BootstrapRecovery {
		source, _ := recoverySource(pgc)
		vols = append(vols, pgbackrest.KeysVolume("source-keys", source))
		mounts = append(mounts, corev1.VolumeMount{Name: "source-keys", MountPath: pgbackrest.SourceKeysDir, ReadOnly: true})
	}
	return vols, mounts
}

// seedBootstrap is how the seed fills its volume.
func seedBootstrap(pgc *v1alpha1.PostgresCluster) string {
	if b := pgc.Spec.Bootstrap; b != nil && b.Recovery != nil {
		return BootstrapRecovery
	}
	return BootstrapInitdb
}

// archiveHashField is the part of spec.backup a running member cannot
// take without a restart: archive_mode, and the store, which the
// postmaster's environment fixes for the archive hook.
func archiveHashField(pgc *v1alpha1.PostgresCluster) *v1alpha1.ObjectStore {
	if pgc.Spec.Backup == nil {
		return nil
	}
	s := pgc.Spec.Backup.ObjectStore
	s.Path = ownRepoPath(pgc)
	return &s
}

// seedWork says what the seed does, for the plan's reason.
func seedWork(pgc *v1alpha1.PostgresCluster) string {
	if seedBootstrap(pgc) == BootstrapRecovery {
		return "restores the database from backups"
	}
	return "runs initdb"
}

// backupParameters: archive_timeout bounds what a quiet cluster can lose
// (spec.backup.archiveTimeout, default 60 s). spec.parameters may still
// set it; the user's value wins there as for any default.
func backupParameters(pgc *v1alpha1.PostgresCluster) map[string]string {
	b := pgc.Spec.Backup
	if b == nil {
		return nil
	}
	timeout := 60
	if b.ArchiveTimeout != nil && b.ArchiveTimeout.Duration >= time.Second {
		timeout = int(b.ArchiveTimeout.Duration / time.Second)
	}
	return map[string]string{"archive_timeout": strconv.Itoa(timeout)}
}

// engineTime rewrites an RFC 3339 time (the API's form) in the form the
// engine and PostgreSQL read: "2026-12-01 17:04:05.123456+00".
func engineTime(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339Nano, strings.Replace(rfc3339, " ", "T", 1))
	if err != nil {
		return rfc3339 // the CRD checks the form; let the engine name the problem
	}
	return t.UTC().Format("2006-01-02 15:04:05.999999") + "+00"
}
