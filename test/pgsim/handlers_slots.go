package pgsim

import (
	"fmt"
	"regexp"
)

var slotsColumns = []column{
	col("slot_name", oidName), col("slot_type", oidText), col("active", oidBool), col("active_pid", oidInt4),
	col("restart_lsn", oidText), col("wal_status", oidText), col("application_name", oidText),
}

// listSlots: every slot is physical, inactive (no standby streams) and
// holds WAL from where it was created.
func listSlots(x *call) (result, error) {
	var res result
	for _, name := range sortedKeys(x.m.slots) {
		s := x.m.slots[name]
		res.rows = append(res.rows, []any{s.name, "physical", false, 0, s.restart.String(), "reserved", ""})
	}
	return res, nil
}

func slotType(x *call) (result, error) {
	if x.m.slots[x.param(1)] == nil {
		return result{}, nil
	}
	return one("physical"), nil
}

// slotNameRE is ReplicationSlotValidateName's rule.
var slotNameRE = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

func createSlot(x *call) (result, error) {
	name := x.param(1)
	switch {
	case !slotNameRE.MatchString(name):
		return result{}, sqlError("42602", "replication slot name %q contains invalid character", name)
	case x.m.slots[name] != nil:
		return result{}, sqlError(codeDuplicateObject, "replication slot %q already exists", name)
	}
	s := &slot{name: name, restart: x.m.currentWAL()}
	x.m.slots[name] = s
	return one(fmt.Sprintf("(%s,)", name)), nil
}

func dropSlot(x *call) (result, error) {
	name := x.param(1)
	if x.m.slots[name] == nil {
		return result{}, nil
	}
	delete(x.m.slots, name)
	return one(""), nil
}
