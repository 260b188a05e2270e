package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A role label changed by hand is put back once PostgreSQL contradicts
// it; a real primary and a fenced pod are never relabelled here.
func TestPlanRoleLabels(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	labelled := func(role string) memberOpt { return func(m *member) { m.pod.Labels[RoleLabel] = role } }
	fenced := func(m *member) { m.pod.Annotations[FencedAnnotation] = "true"; delete(m.pod.Labels, RoleLabel) }
	for _, tc := range []struct {
		name  string
		ms    []*member
		want  actionKind
		whose string
	}{
		{"labels as they should be", []*member{testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica))},
			"", ""},
		{"a standby labelled primary by hand", []*member{testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica), labelled(RolePrimary)), testMember(pgc, 3, up(RoleReplica))},
			actLabelReplica, "demo-2"},
		{"a standby with a made-up role", []*member{testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica), labelled("boss"))},
			actLabelReplica, "demo-3"},
		{"the primary labelled replica: failover relabels it, not this rule", []*member{testMember(pgc, 1, up(RolePrimary), labelled(RoleReplica)), testMember(pgc, 2, up(RoleReplica))},
			"", ""},
		{"a fenced standby is failover's", []*member{testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica), fenced)},
			"", ""},
		{"a member not answering is not judged", []*member{testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, starting(RolePrimary))},
			"", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := planRoleLabels(input(pgc, obsOf(pgc, tc.ms...)))
			if tc.want == "" {
				assert.False(t, ok, "%+v", got)
				return
			}
			if assert.True(t, ok) {
				assert.Equal(t, tc.want, got.kind)
				assert.Equal(t, tc.whose, got.member)
				assert.Contains(t, got.reason, "-rw routes only to the primary")
			}
		})
	}
	// In the whole plan the stray label is corrected before failover looks
	// at the labelled primaries.
	ms := []*member{testMember(pgc, 1, up(RoleReplica), labelled(RolePrimary)), testMember(pgc, 2, up(RolePrimary)), testMember(pgc, 3, up(RoleReplica))}
	got := plan(input(pgc, obsOf(pgc, ms...)))
	assert.Equal(t, actLabelReplica, got.kind)
	assert.Equal(t, "demo-1", got.member)
}
