package cluster

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// planVolumesLost answers a cluster whose every volume is gone. Without
// backups there is nothing to recover from. With backups the operator
// restores its own backups when spec.backup.recoverWhenVolumesLost allows
// it; otherwise the Failed condition says how to recover by hand. It never
// initialises an empty database over a cluster that had data.
func planVolumesLost(in planInput) (action, bool) {
	const gone = "every member's volume is gone"
	b := in.cluster.Spec.Backup
	if b == nil {
		return action{kind: actFail, reason: gone + ": there is no data to recover from (no spec.backup); " +
			"the operator will not initialise an empty database over a cluster that had data"}, true
	}
	if !b.RecoverWhenVolumesLost {
		return action{kind: actFail, reason: fmt.Sprintf("%s: recover from the backups at %s/%s%s: "+
			"create a new PostgresCluster with spec.bootstrap.recovery.source set to this cluster's "+
			"spec.backup.objectStore with path %q, or set spec.backup.recoverWhenVolumesLost: true "+
			"to let the operator restore them here", gone, b.ObjectStore.Endpoint, b.ObjectStore.Bucket,
			ownRepoPath(in.cluster), ownRepoPath(in.cluster))}, true
	}
	ord := max(in.cluster.Status.LastOrdinal, in.obs.members.maxOrdinal()) + 1
	name := MemberName(in.cluster.Name, ord)
	return action{kind: actCreateMember, ordinal: ord, member: name, role: RolePrimary,
		bootstrap: BootstrapRecovery, phase: v1alpha1.PhaseRecovering, reason: fmt.Sprintf(
			"%s: restoring the newest backup and the archived WAL into %s (spec.backup.recoverWhenVolumesLost)", gone, name)}, true
}

// reasonArchiveIsSource is the Failed reason of a cluster that would
// archive into the backups it restores from (the CRD refuses an explicit
// path; the default /<namespace>/<name> can only be checked here).
const reasonArchiveIsSource = "ArchiveIsRecoverySource"

// planRecoveryIntoSource refuses to restore a cluster whose own archive is
// its recovery source: its WAL would mix with the source's, and a source
// still running would see its history overwritten.
func planRecoveryIntoSource(in planInput) (action, bool) {
	pgc := in.cluster
	if pgc.Status.Initialized || pgc.Spec.Backup == nil || seedBootstrap(pgc) != BootstrapRecovery {
		return action{}, false
	}
	own, src := pgc.Spec.Backup.ObjectStore, pgc.Spec.Bootstrap.Recovery.Source
	if own.Endpoint != src.Endpoint || own.Bucket != src.Bucket || ownRepoPath(pgc) != src.Path {
		return action{}, false
	}
	return action{kind: actWait, failure: reasonArchiveIsSource, phase: v1alpha1.PhaseFailed, reason: fmt.Sprintf(
		"spec.backup would archive into %s, the path this cluster restores from: set spec.backup.objectStore.path "+
			"to a path of its own (a recovered cluster never writes into its source)", src.Path)}, true
}

// reasonRecoveryFailed: the restored backups cannot reach the target.
const reasonRecoveryFailed = "RecoveryTargetUnreachable"

// planRecoveryFailed stops at a seed whose WAL replay ended without
// reaching the target (after the end of the archived WAL, or before the
// end of the only backup that could serve it). Retrying replays the same
// WAL to the same end, so the cluster is Failed at once, with the server's
// words, and the failed pod is kept for its log. spec.bootstrap cannot
// change: the answer is a new cluster with another target.
func planRecoveryFailed(in planInput, seed *member) (action, bool) {
	if seedBootstrap(in.cluster) != BootstrapRecovery || !podFailed(seed.pod) {
		return action{}, false
	}
	msg := terminationMessage(seed.pod)
	why, ok := strings.CutPrefix(msg, "recovery-failed: ")
	if !ok {
		return action{}, false
	}
	return action{kind: actWait, member: seed.name, failure: reasonRecoveryFailed, phase: v1alpha1.PhaseFailed,
		reason: fmt.Sprintf("the seed %s could not recover to spec.bootstrap.recovery.target: %s; "+
			"check status.backup of the source for its recoverable range, then create a new cluster with another target "+
			"(see `kubectl logs %s`)", seed.name, why, seed.name)}, true
}

// terminationMessage is what the postgres container wrote to its
// termination log before it exited.
func terminationMessage(pod *corev1.Pod) string {
	if cs := postgresContainerStatus(pod); cs != nil && cs.State.Terminated != nil {
		return strings.TrimSpace(cs.State.Terminated.Message)
	}
	return ""
}
