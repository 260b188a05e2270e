package cluster

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// apply carries out one planned action. It returns whether it changed
// anything. Every action is idempotent: repeating it after an operator
// crash, or on a stale cache, does no harm.
func (c *Cluster) apply(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) (bool, error) {
	var err error
	switch act.kind {
	case actNone, actWait, actFail:
		return false, nil
	case actCreateSecrets:
		err = c.createSecrets(ctx, pgc, obs)
	case actRecordPasswords, actRestoreSecret, actRotatePassword, actRepairPassword, actRefusePassword, actForgetPrevious:
		return c.applyPasswords(ctx, pgc, obs, act) // apply_secrets.go: its own Events
	case actIssueCertificates:
		did, err := c.issueCertificates(ctx, pgc, obs) // apply_tls.go
		if err != nil || did == "" {
			return false, err
		}
		c.cfg.Recorder.Event(pgc, corev1.EventTypeNormal, string(act.kind), did)
		klog.FromContext(ctx).Info("Action applied", "action", string(act.kind), "reason", did)
		return true, nil
	case actRefreshCertificates:
		// Housekeeping like replication: logged, no Event.
		return true, c.refreshCertificates(ctx, pgc, obs) // tls_refresh.go
	case actSyncManaged, actRunInitSQL:
		return c.applyManaged(ctx, pgc, obs, act) // apply_managed.go: its own Events
	case actCreateServices:
		err = c.createServices(ctx, pgc, obs)
	case actRepairService:
		err = c.repairService(ctx, pgc, act.target)
	case actRestoreLabel:
		err = c.restorePodLabel(ctx, pgc, act.member)
	case actSyncPDB:
		if done, err := c.syncDisruptionBudget(ctx, pgc, obs, act.target); !done || err != nil {
			return false, err // apply_drain.go: a refusal has its own Event
		}
	case actCreateMember:
		err = c.createMember(ctx, pgc, obs, act)
	case actRecreatePod:
		err = c.createPod(ctx, pgc, act)
		if act.restart && err == nil {
			c.primaryRestarted(pgc, act.member)
		}
		if err == nil {
			err = c.endRestartInPlace(ctx, pgc, act) // roll_in_place.go
		}
	case actFinishBootstrap:
		err = c.finishBootstrap(ctx, pgc, obs, act)
	case actRemoveMember, actReplaceSeed, actReplaceLost:
		err = c.removeMember(ctx, pgc, obs, act)
		if act.reclone && err == nil {
			c.safety.recloned(c.cfg.Clock.Now())
		}
	case actDeletePod:
		err = c.deletePod(ctx, pgc, act.member)
		if act.restart && err == nil {
			c.restarts[act.member]++
		}
	case actReplaceStrayPrimary:
		err = c.deletePod(ctx, pgc, act.member)
	case actSyncReplication:
		// Housekeeping after every membership change: logged, no Event.
		return true, c.syncReplication(ctx, pgc, obs)
	case actApplyParams:
		changed, err := c.applyParameters(ctx, pgc, obs, act)
		if changed {
			c.paramsChangedAt = c.cfg.Clock.Now()
			c.cfg.Recorder.Event(pgc, corev1.EventTypeNormal, string(act.kind), act.reason)
			klog.FromContext(ctx).Info("Action applied", "action", string(act.kind), "member", act.member, "reason", act.reason)
		}
		return true, err
	case actFence:
		err = c.fence(ctx, pgc, obs, act)
	case actPromote:
		err = c.promote(ctx, pgc, obs, act)
	case actSwitchover:
		err = c.switchover(ctx, pgc, obs, act)
		if err == nil && act.target == act.member {
			c.inPlace = inPlaceAttempt{member: act.member, params: paramsFingerprint(pgc)} // roll_in_place.go
		}
	case actRejectSwitchover:
		return false, c.rejectSwitchover(ctx, pgc, act)
	case actLabelPrimary:
		err = c.labelPrimary(ctx, pgc, act.member)
	case actRepoint:
		// Housekeeping like replication: logged, no Event.
		return true, c.repoint(ctx, pgc, obs, act)
	case actLabelReplica:
		err = c.labelRole(ctx, pgc, act.member, RoleReplica)
	case actLabelDiverged:
		err = c.labelRole(ctx, pgc, act.member, RoleDiverged)
	case actGrowVolume:
		err = c.growVolume(ctx, pgc, act)
	case actSetVolumeOwner:
		err = c.setVolumeOwner(ctx, pgc, obs, act)
	}
	if err != nil {
		return false, err
	}
	c.handoverBegins(act.kind) // metrics.go
	if act.kind == actLabelPrimary {
		c.handoverDone(pgc) // a promotion an operator crash left unlabelled
	}
	eventType := corev1.EventTypeNormal
	if isWarningAction(act.kind) {
		eventType = corev1.EventTypeWarning
	}
	c.cfg.Recorder.Event(pgc, eventType, string(act.kind), act.reason)
	// The same sentence in the operator's log, under the cluster's key, so
	// `kubectl logs` tells the story without -v or a look at Events.
	klog.FromContext(ctx).Info("Action applied", "action", string(act.kind), "member", act.member, "reason", act.reason)
	c.cfg.metrics().ActionApplied(string(act.kind))
	return true, nil
}

// isWarningAction: actions that report something gone wrong, whose Events
// are Warnings.
func isWarningAction(kind actionKind) bool {
	switch kind {
	case actFence, actLabelDiverged, actReplaceStrayPrimary, actRepairService, actRestoreLabel:
		return true
	}
	return false
}
