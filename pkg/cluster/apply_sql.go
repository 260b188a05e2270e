package cluster

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// syncReplication makes the primary hold exactly one slot per replica and
// sets synchronous_standby_names for the replication mode.
//
// Sync mode rule: a commit waits for ANY 1 of the replicas that exist. A
// cluster of size 1 has no replica, so its writes never block; a cluster
// whose replicas are all down blocks writes until one is back (the
// operator recreates it), which is what "no acknowledged write lost"
// requires.
func (c *Cluster) syncReplication(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) error {
	primary := obs.members.primary()
	ep, err := primaryEndpoint(pgc, obs)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, m := range obs.members.live() {
		if m != primary && !obs.isForeign(m.name) { // another database holds no slot (safety_identity.go)
			want[postgres.SlotName(m.name)] = true
		}
	}
	if err := c.reconcileSlots(ctx, pgc, ep, want); err != nil {
		return err
	}
	if err := c.cfg.Postgres.SetSynchronousStandbyNames(ctx, ep, syncStandbyNames(pgc, obs)); err != nil {
		return err
	}
	c.applied[appliedKey("replication", primary)] = replicationFingerprint(pgc, obs)
	return nil
}

// reconcileSlots is in slots_reconcile.go.

// syncStandbyNames is the synchronous_standby_names value for the mode.
func syncStandbyNames(pgc *v1alpha1.PostgresCluster, obs *observation) string {
	if pgc.Spec.Replication.Mode != v1alpha1.ReplicationSync {
		return ""
	}
	names := replicaNames(obs)
	if len(names) == 0 {
		return ""
	}
	return postgres.SyncStandbyNames(1, names)
}

func replicaNames(obs *observation) []string {
	primary := obs.members.primary()
	var names []string
	for _, m := range obs.members.live() {
		if m != primary && !obs.isForeign(m.name) { // another database never acknowledges a commit
			names = append(names, m.name)
		}
	}
	return names
}

// replicationFingerprint changes whenever syncReplication has work to do.
func replicationFingerprint(pgc *v1alpha1.PostgresCluster, obs *observation) string {
	return fmt.Sprintf("%s|%s", pgc.Spec.Replication.Mode, strings.Join(replicaNames(obs), ","))
}

// applyParameters writes the desired parameters on one member with ALTER
// SYSTEM and reloads; those needing a restart show up as pending restart
// and are rolled by planRoll.
func (c *Cluster) applyParameters(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) (bool, error) {
	m := obs.members.byName(act.member)
	pw, ok := obs.superuserPassword(pgc.Name)
	if m == nil || !m.running() || !ok {
		return false, fmt.Errorf("member %s is not running", act.member)
	}
	ep := endpoint(m, pw)
	current, err := c.cfg.Postgres.AutoConf(ctx, ep)
	if err != nil {
		return false, err
	}
	want := desiredParameters(pgc)
	// Settings removed from the spec go back to PostgreSQL's defaults; the
	// ones the operator sets itself over SQL stay.
	var reset []string
	for name := range current {
		if _, ok := want[name]; !ok && !sqlOwnedParameters[name] {
			reset = append(reset, name)
		}
	}
	changed, err := c.cfg.Postgres.SetParameters(ctx, ep, want, reset)
	rejected := postgres.AsRejected(err)
	if err != nil && rejected == nil {
		return changed, err
	}
	// Refused settings are skipped, never retried for this fingerprint:
	// the member is done, and the refusal is reported instead.
	fp := paramsFingerprint(pgc)
	c.applied[appliedKey("params", m)] = fp
	var refused []postgres.Rejection
	if rejected != nil {
		refused = rejected.Rejected
	}
	if fresh := c.rejections.record(m.name, fp, refused); len(fresh) > 0 {
		msg := rejectionMessage(rejectionStrings(fresh))
		c.cfg.Recorder.Event(pgc, corev1.EventTypeWarning, reasonParameterRejected, msg)
		klog.FromContext(ctx).Info("PostgreSQL refused parameters", "member", m.name, "reason", msg)
	}
	return changed, nil
}

// sqlOwnedParameters are never reset by applyParameters: every setting the
// operator owns (v1alpha1.OwnedParameters), among them the ones it writes
// with ALTER SYSTEM outside spec.parameters (synchronous_standby_names).
var sqlOwnedParameters = ownedParameterSet()

// paramsFingerprint changes whenever the desired parameters change.
func paramsFingerprint(pgc *v1alpha1.PostgresCluster) string {
	return renderedParameters(pgc)
}

// renderedParameters are the desired parameters as member.sh writes them
// into postgresql.auto.conf (SPEC_PARAMETERS, BOOTSTRAP_PARAMETERS).
func renderedParameters(pgc *v1alpha1.PostgresCluster) string {
	return autoConf(desiredParameters(pgc))
}
