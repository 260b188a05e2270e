package cluster

import (
	"context"
	"fmt"
	"strings"

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
		if m != primary {
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

// reconcileSlots creates the wanted slots and drops the operator's slots of
// members that are gone. Slots not named after this cluster's members are
// the user's and are left alone.
func (c *Cluster) reconcileSlots(ctx context.Context, pgc *v1alpha1.PostgresCluster, ep postgres.Endpoint, want map[string]bool) error {
	slots, err := c.cfg.Postgres.Slots(ctx, ep)
	if err != nil {
		return err
	}
	prefix := postgres.SlotName(pgc.Name + "-")
	have := map[string]bool{}
	for _, s := range slots {
		have[s.Name] = true
		if !want[s.Name] && s.Type == "physical" && strings.HasPrefix(s.Name, prefix) {
			if err := c.cfg.Postgres.DropSlot(ctx, ep, s.Name); err != nil {
				return err
			}
		}
	}
	for name := range want {
		if !have[name] {
			if err := c.cfg.Postgres.EnsureSlot(ctx, ep, name); err != nil {
				return err
			}
		}
	}
	return nil
}

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
		if m != primary {
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
	if err != nil {
		return changed, err
	}
	c.applied[appliedKey("params", m)] = paramsFingerprint(pgc)
	return changed, nil
}

// sqlOwnedParameters are written by the operator with ALTER SYSTEM outside
// spec.parameters, so applyParameters never resets them.
var sqlOwnedParameters = map[string]bool{"synchronous_standby_names": true}

// paramsFingerprint changes whenever the desired parameters change.
func paramsFingerprint(pgc *v1alpha1.PostgresCluster) string {
	return autoConf(desiredParameters(pgc))
}
