package cluster

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// updateStatus writes want, the status this pass observed (computeStatus),
// only if it differs from what is stored: the steady state makes no API
// writes.
func (c *Cluster) updateStatus(ctx context.Context, pgc *v1alpha1.PostgresCluster, want v1alpha1.PostgresClusterStatus) error {
	if equality.Semantic.DeepEqual(pgc.Status, want) {
		return nil
	}
	c.announceArchiving(pgc, pgc.Status.Conditions, want.Conditions)    // backup_status.go
	c.announceCertificates(pgc, pgc.Status.Conditions, want.Conditions) // tls_status.go
	c.announceManaged(pgc, &pgc.Status, &want)                          // status_managed.go
	return c.writeStatus(ctx, pgc, func(st *v1alpha1.PostgresClusterStatus) {
		// Fields owned by actions (initialized, ordinals) keep the stored value.
		want.Initialized = st.Initialized || want.Initialized
		want.LastOrdinal = max(st.LastOrdinal, want.LastOrdinal)
		*st = want
	})
}

// errClusterReplaced stops a status write whose cluster was deleted and
// created again under the same name while the pass ran.
var errClusterReplaced = errors.New("the cluster was deleted and created again under the same name; its status is left to the new one's pass")

// writeStatus applies mutate to the newest stored status and writes it
// with UpdateStatus, retrying on conflicts with a fresh read.
func (c *Cluster) writeStatus(ctx context.Context, pgc *v1alpha1.PostgresCluster, mutate func(*v1alpha1.PostgresClusterStatus)) error {
	api := c.cfg.Client.PostgresV1alpha1().PostgresClusters(pgc.Namespace)
	current := pgc.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		mutate(&current.Status)
		updated, err := api.UpdateStatus(ctx, current, metav1.UpdateOptions{})
		if err == nil {
			c.written = writtenStatus(updated)
			return nil
		}
		fresh, getErr := api.Get(ctx, pgc.Name, metav1.GetOptions{})
		if getErr != nil {
			return err
		}
		if fresh.UID != pgc.UID {
			// Deleted and created again under the same name: this pass's
			// status (its members, its ordinals) is not the new cluster's.
			return errClusterReplaced
		}
		current = fresh
		return err
	})
	if err != nil {
		return fmt.Errorf("updating status: %w", err)
	}
	return nil
}

// computeStatus derives the status from one pass's observation and action.
func computeStatus(pgc *v1alpha1.PostgresCluster, obs *observation, act action, actErr error) v1alpha1.PostgresClusterStatus {
	st := *pgc.Status.DeepCopy()
	st.ObservedGeneration = pgc.Generation
	st.Selector = Selector(pgc.Name)
	st.Size, st.ReadyMembers = 0, 0
	st.Members = v1alpha1.MembersStatus{}
	st.MemberStatuses = nil
	st.PendingRestart = false
	if pgc.Annotations[v1alpha1.SwitchoverAnnotation] == "" {
		// The request is gone: the same value may be asked for again.
		st.LastSwitchover = ""
	}

	primary := obs.members.primary()
	for _, m := range obs.members.live() {
		if m.hasPod() {
			st.Size++
		}
		ms := memberStatus(m, primary)
		st.MemberStatuses = append(st.MemberStatuses, ms)
		if ms.Ready {
			st.ReadyMembers++
			st.Members.Ready = append(st.Members.Ready, m.name)
		} else {
			st.Members.Unready = append(st.Members.Unready, m.name)
		}
		if m.db != nil && len(m.db.PendingRestart) > 0 {
			st.PendingRestart = true
		}
	}
	primaryUp := primary != nil && primary.healthy()
	if primaryUp {
		st.Primary = primary.name
		st.Timeline = int64(primary.db.Timeline)
		st.CurrentImage = primary.pod.Spec.Containers[0].Image
	}
	st.Phase = phaseOf(pgc, obs, act)
	setConditions(&st, pgc, obs, act, actErr, primaryUp)
	setPasswordsCondition(&st, pgc, obs)    // status_secrets.go
	setSafetyConditions(&st, pgc, obs, act) // safety_notices.go
	setBackupStatus(&st, pgc, obs)          // backup_status.go
	setTLSStatus(&st, pgc, obs)             // tls_status.go
	setManagedStatus(&st, pgc, obs)         // status_managed.go
	keepTransitionTimes(&st, pgc.Status.Conditions)
	return st
}

// keepTransitionTimes gives each condition whose status is the stored one
// its stored lastTransitionTime. A notice may override what setConditions
// derived (Degraded True while every member is ready): each flip in between
// stamps a new time, which would make every pass write status.
func keepTransitionTimes(st *v1alpha1.PostgresClusterStatus, stored []metav1.Condition) {
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if old := meta.FindStatusCondition(stored, c.Type); old != nil && old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
}

func memberStatus(m, primary *member) v1alpha1.MemberStatus {
	ms := v1alpha1.MemberStatus{Name: m.name, Role: m.role(), Ready: m.healthy()}
	ms.LagBytes, _ = lagBytes(m, primary)
	return ms
}

// lagBytes is how far a replica's replay is behind the primary's WAL
// position; known only for a replica when both answered this pass.
func lagBytes(m, primary *member) (int64, bool) {
	if primary == nil || primary.db == nil || m.db == nil || m == primary || !m.db.InRecovery {
		return 0, false
	}
	return max(int64(primary.db.Position())-int64(m.db.ReplayedLSN), 0), true
}

func phaseOf(pgc *v1alpha1.PostgresCluster, obs *observation, act action) v1alpha1.ClusterPhase {
	live := obs.members.live()
	switch {
	case pgc.Spec.Paused:
		return v1alpha1.PhasePaused
	case act.phase != "":
		return act.phase
	case act.kind == actFail:
		return v1alpha1.PhaseFailed
	case !pgc.Status.Initialized || act.kind == actFinishBootstrap:
		// Finishing the bootstrap is still creating; the housekeeping
		// passes right after it keep a Creating phase as Running.
		return v1alpha1.PhaseCreating
	case obs.members.primary() == nil:
		return v1alpha1.PhaseRecovering
	case len(live) != int(pgc.Spec.Size) || act.kind == actCreateMember || act.kind == actRemoveMember:
		return v1alpha1.PhaseScaling
	case act.kind == actWait && act.member != "":
		// A member is coming up: a new one (never ready) scales the cluster,
		// a returning one recovers it.
		if wasReady(pgc.Status, act.member) {
			return v1alpha1.PhaseRecovering
		}
		return v1alpha1.PhaseScaling
	case housekeeping(act.kind):
		// SQL housekeeping of a few milliseconds; the phase stays as it was
		// (rolling members that need a restart shows Updating).
		if st := pgc.Status.Phase; st != "" && st != v1alpha1.PhaseCreating {
			return st
		}
		return v1alpha1.PhaseRunning
	case act.kind != actNone && act.kind != actWait:
		return v1alpha1.PhaseUpdating
	}
	return v1alpha1.PhaseRunning
}

func setConditions(st *v1alpha1.PostgresClusterStatus, pgc *v1alpha1.PostgresCluster, obs *observation, act action, actErr error, primaryUp bool) {
	gen := pgc.Generation
	set := func(t string, ok bool, reason, msg string) {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	size := int(pgc.Spec.Size)
	allReady := int(st.ReadyMembers) == size && len(obs.members.live()) == size
	converged := act.kind == actNone

	if primaryUp {
		set(v1alpha1.ConditionPrimaryAvailable, true, "PrimaryUp", fmt.Sprintf("%s accepts writes", st.Primary))
	} else {
		set(v1alpha1.ConditionPrimaryAvailable, false, "NoPrimary", "no member is a healthy primary")
	}
	switch {
	case allReady && primaryUp:
		set(v1alpha1.ConditionReady, true, "AllMembersReady", fmt.Sprintf("%d/%d members ready", st.ReadyMembers, size))
		set(v1alpha1.ConditionDegraded, false, "AllMembersReady", "")
	default:
		set(v1alpha1.ConditionReady, false, "MembersNotReady", fmt.Sprintf("%d/%d members ready", st.ReadyMembers, size))
		set(v1alpha1.ConditionDegraded, st.Initialized, "MembersNotReady", fmt.Sprintf("unready: %v", st.Members.Unready))
	}
	switch {
	case actErr == nil && housekeeping(act.kind) && progressingFor(st, gen):
		// SQL housekeeping that a restarted actor repeats to check (the
		// parameters, slots, roles) says nothing new about this generation:
		// the stored condition stands, so a restart writes no status for a
		// healthy cluster. A new generation's housekeeping is reported.
	case actErr != nil:
		set(v1alpha1.ConditionProgressing, false, "ActionFailed", actErr.Error())
	case converged && act.blocked != "":
		set(v1alpha1.ConditionProgressing, false, act.blocked, act.reason)
	case converged:
		set(v1alpha1.ConditionProgressing, false, "Converged", act.reason)
	default:
		set(v1alpha1.ConditionProgressing, true, string(act.kind), act.reason)
	}
	if pgc.Spec.Paused {
		set(v1alpha1.ConditionPaused, true, "Paused", "spec.paused is true: the operator makes no changes")
	} else {
		removeCondition(&st.Conditions, v1alpha1.ConditionPaused)
	}
	switch {
	case act.kind == actFail:
		set(v1alpha1.ConditionFailed, true, "NothingToRecover", act.reason)
	case act.failure != "":
		set(v1alpha1.ConditionFailed, true, act.failure, act.reason)
	default:
		removeCondition(&st.Conditions, v1alpha1.ConditionFailed)
	}
}

// housekeeping actions are quick SQL or metadata fixes that keep the
// phase and the Progressing condition as they were.
func housekeeping(k actionKind) bool {
	return k == actSyncReplication || k == actApplyParams || isManagedAction(k) || k == actRefreshCertificates || k == actRepoint
}

// progressingFor reports whether the stored Progressing condition is about
// generation gen.
func progressingFor(st *v1alpha1.PostgresClusterStatus, gen int64) bool {
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionProgressing)
	return c != nil && c.ObservedGeneration == gen
}

// writtenStatus keeps of a written object what freshest reads: its
// identity, version and status, not a second copy of the spec per actor.
func writtenStatus(o *v1alpha1.PostgresCluster) *v1alpha1.PostgresCluster {
	return &v1alpha1.PostgresCluster{
		ObjectMeta: metav1.ObjectMeta{UID: o.UID, ResourceVersion: o.ResourceVersion},
		Status:     o.Status,
	}
}
