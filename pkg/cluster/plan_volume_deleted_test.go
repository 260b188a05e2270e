package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlanPrimaryVolumeDeleted(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3))
	one := testCluster(1, initialized("demo-1", 1))
	noFailover := testCluster(3, initialized("demo-1", 3), failoverDisabled)
	cluster3 := func(primary []memberOpt, r2, r3 memberOpt) planInput {
		return failoverInput(three, testMember(three, 1, append([]memberOpt{up(RolePrimary), onNode("node-a")}, primary...)...),
			testMember(three, 2, up(RoleReplica), at(10), onNode("node-b"), r2), testMember(three, 3, up(RoleReplica), at(20), onNode("node-c"), r3))
	}
	nothing := func(*member) {}
	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		target string
		notice string // the notice's message, "" for none
	}{
		{name: "switch over to the replica with the most WAL before the data goes",
			in: cluster3([]memberOpt{volumeDeleting}, nothing, nothing), kind: actSwitchover, target: "demo-3"},
		{name: "never to a replica whose own volume is being deleted",
			in: cluster3([]memberOpt{volumeDeleting}, nothing, volumeDeleting), kind: actSwitchover, target: "demo-2"},
		{name: "a lone primary: nothing to switch to, said",
			in: failoverInput(one, testMember(one, 1, up(RolePrimary), onNode("node-a"), volumeDeleting)), kind: actNone,
			notice: "the primary demo-1's volume claim demo-1-data is being deleted, but no healthy replica with a volume of its own " +
				"runs on a schedulable node: no switchover. Its data goes when its pod stops; take a backup or copy the data now if the deletion was a mistake"},
		{name: "failover disabled: said",
			in: failoverInput(noFailover, testMember(noFailover, 1, up(RolePrimary), onNode("node-a"), volumeDeleting),
				testMember(noFailover, 2, up(RoleReplica), onNode("node-b")), testMember(noFailover, 3, up(RoleReplica), onNode("node-c"))),
			notice: "the primary demo-1's volume claim demo-1-data is being deleted, but spec.failover.disabled is set, and a switchover " +
				"ends in a promotion: no switchover. Its data goes when its pod stops; take a backup or copy the data now if the deletion was a mistake"},
		{name: "the primary's volume is kept: nothing",
			in: cluster3(nil, nothing, nothing), kind: actNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			act, ok := planPrimaryVolumeDeleted(tt.in)
			if tt.kind == actSwitchover {
				require.True(t, ok)
				assert.Equal(t, tt.target, act.target)
				assert.Equal(t, "demo-1", act.member)
				assert.Contains(t, act.reason, "the primary demo-1's volume claim demo-1-data is being deleted")
				assert.Contains(t, act.reason, "switching over to "+tt.target+" first, so no write is lost")
			} else {
				assert.False(t, ok, "reason: %s", act.reason)
			}
			ns := volumeNotices(tt.in)
			if tt.notice == "" {
				assert.Empty(t, ns)
				return
			}
			require.Len(t, ns, 1)
			assert.Equal(t, reasonPrimaryVolumeDeleted, ns[0].reason)
			assert.Equal(t, tt.notice, ns[0].message)
		})
	}
}

// TestPlanPrimaryVolumeDeletedComesFirst: the whole plan picks the
// switchover; no rule before it stops it.
func TestPlanPrimaryVolumeDeletedComesFirst(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3))
	in := failoverInput(three, testMember(three, 1, up(RolePrimary), onNode("node-a"), volumeDeleting),
		testMember(three, 2, up(RoleReplica), at(10), onNode("node-b")), testMember(three, 3, up(RoleReplica), at(20), onNode("node-c")))
	got := plan(in)
	assert.Equal(t, actSwitchover, got.kind, "reason: %s", got.reason)
	assert.Equal(t, "demo-3", got.target)
}
