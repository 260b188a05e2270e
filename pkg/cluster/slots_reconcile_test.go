package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/api/resource"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

func TestOperatorSlot(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 5))
	tests := []struct {
		name string
		slot postgres.Slot
		ours bool
	}{
		{"a member's slot, ordinal handed out, idle", postgres.Slot{Name: "demo_4", Type: "physical"}, true},
		{"a member's slot in use by a member", postgres.Slot{Name: "demo_4", Type: "physical", Active: true, ActiveApplication: "demo-4"}, true},
		{"named like a member's but a non-member streams from it", postgres.Slot{Name: "demo_4", Type: "physical", Active: true, ActiveApplication: "pg_receivewal"}, false},
		{"an ordinal never handed out", postgres.Slot{Name: "demo_6", Type: "physical"}, false},
		{"the cluster's prefix, not a member's name", postgres.Slot{Name: "demo_backup", Type: "physical"}, false},
		{"a leading zero is not a member's name", postgres.Slot{Name: "demo_04", Type: "physical"}, false},
		{"another cluster's member whose name starts like ours", postgres.Slot{Name: "demo_1_2", Type: "physical"}, false},
		{"ordinal 0 is never a member", postgres.Slot{Name: "demo_0", Type: "physical"}, false},
		{"a logical slot", postgres.Slot{Name: "demo_4", Type: "logical"}, false},
		{"someone else's", postgres.Slot{Name: "analytics", Type: "physical"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.ours, operatorSlot(pgc, tt.slot))
		})
	}
	dashed := testCluster(1, initialized("my-db-1", 3), func(p *v1alpha1.PostgresCluster) { p.Name = "my-db" })
	assert.True(t, operatorSlot(dashed, postgres.Slot{Name: "my_db_3", Type: "physical"}))
	assert.False(t, operatorSlot(dashed, postgres.Slot{Name: "my_db_x", Type: "physical"}))
}

// TestSyncDropsOnlyOperatorSlots: the housekeeping after a membership
// change drops the slot of a member that is gone and nothing else.
func TestSyncDropsOnlyOperatorSlots(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 3, up(RoleReplica)))
	w.db.Update(memberIP(1), func(s *dbfake.Server) {
		for _, sl := range []postgres.Slot{
			{Name: "demo_2", Type: "physical"}, // member demo-2 was removed while there was no primary
			{Name: "demo_3", Type: "physical", Active: true, ActiveApplication: "demo-3"},
			{Name: "demo_9", Type: "physical"},      // the user's: no such ordinal yet
			{Name: "demo_backup", Type: "physical"}, // the user's
			{Name: "demo_1", Type: "physical", Active: true, ActiveApplication: "barman"},
		} {
			s.Slots[sl.Name] = sl
		}
	})
	w.pass()
	var dropped []string
	for _, c := range w.db.CallsTo("DropSlot") {
		dropped = append(dropped, c.Args...)
	}
	assert.Equal(t, []string{"demo_2"}, dropped)
	assert.Contains(t, w.db.Server(memberIP(1)).Slots, "demo_backup")
}

func TestSafetyParameters(t *testing.T) {
	sized := func(q string) *v1alpha1.PostgresCluster {
		return testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Storage.Size = resource.MustParse(q) })
	}
	assert.Equal(t, "307MB", desiredParameters(sized("1Gi"))["max_slot_wal_keep_size"], "30% of the volume")
	assert.Equal(t, "3072MB", desiredParameters(sized("10Gi"))["max_slot_wal_keep_size"])
	assert.Equal(t, "16MB", desiredParameters(sized("20Mi"))["max_slot_wal_keep_size"], "never below one segment")
	assert.Equal(t, "10s", desiredParameters(sized("1Gi"))["wal_receiver_timeout"])

	mine := sized("1Gi")
	mine.Spec.Parameters = map[string]string{"max_slot_wal_keep_size": "-1", "wal_receiver_timeout": "60s"}
	assert.Equal(t, "-1", desiredParameters(mine)["max_slot_wal_keep_size"], "spec.parameters wins")
	assert.Equal(t, "60s", desiredParameters(mine)["wal_receiver_timeout"])
}
