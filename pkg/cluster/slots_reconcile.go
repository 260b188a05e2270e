package cluster

import (
	"context"
	"strconv"
	"strings"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// reconcileSlots creates the wanted slots and drops the slots the operator
// made for members that are gone. Any other slot is the user's and is left
// alone (see operatorSlot).
func (c *Cluster) reconcileSlots(ctx context.Context, pgc *v1alpha1.PostgresCluster, ep postgres.Endpoint, want map[string]bool) error {
	slots, err := c.cfg.Postgres.Slots(ctx, ep)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, s := range slots {
		have[s.Name] = true
		if !want[s.Name] && operatorSlot(pgc, s) {
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

// operatorSlot reports whether the operator made this slot, so it may drop
// it. The operator names its slots after members only, <cluster>_<ordinal>,
// and creates a member's slot only after recording its ordinal in
// status.lastOrdinal (createMember). So a slot is the operator's when it is
// physical, its name is exactly that of an ordinal already handed out, and
// nobody but a member streams from it. A user's slot of any other name
// (demo_backup), or named for an ordinal not yet used, is never touched;
// nor is one named like a member's while a non-member (application_name
// not a member's) streams from it.
//
// The name rule needs no state, so it survives operator restarts and
// failovers (the new primary's slots come from promote, named the same
// way). A record of created slots would instead need an API write before
// every slot creation, kept in step across failovers, and a crash between
// creating and recording would leave a slot nobody ever drops.
func operatorSlot(pgc *v1alpha1.PostgresCluster, s postgres.Slot) bool {
	if s.Type != "physical" {
		return false
	}
	ord, ok := slotOrdinal(pgc.Name, s.Name)
	if !ok || ord > pgc.Status.LastOrdinal {
		return false
	}
	if s.Active {
		if _, member := ordinalOf(pgc.Name, s.ActiveApplication); !member {
			return false // a non-member streams from it
		}
	}
	return true
}

// slotOrdinal parses the ordinal from a slot named for one of the
// cluster's members, requiring the exact name SlotName gives it.
func slotOrdinal(cluster, slot string) (int32, bool) {
	suffix, found := strings.CutPrefix(slot, postgres.SlotName(cluster+"-"))
	if !found {
		return 0, false
	}
	n, err := strconv.ParseInt(suffix, 10, 32)
	if err != nil || n < 1 || postgres.SlotName(MemberName(cluster, int32(n))) != slot {
		return 0, false
	}
	return int32(n), true
}
