package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A standby promoted by hand beside a serving primary is replaced; the
// operator's own promotions (the labelled primary fenced, gone or silent)
// are failover's and never match.
func TestPlanStrayPrimary(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	promoted := func(m *member) { m.db.InRecovery, m.db.ReceiverStatus, m.db.Timeline = false, "", 2 }
	labelled := func(role string) memberOpt { return func(m *member) { m.pod.Labels[RoleLabel] = role } }
	fenced := func(m *member) { m.pod.Annotations[FencedAnnotation] = "true"; delete(m.pod.Labels, RoleLabel) }
	silent := func(m *member) { m.db = nil }
	for _, tc := range []struct {
		name  string
		ms    []*member
		whose string
	}{
		{"promoted by hand, still labelled replica", []*member{testMember(pgc, 1, up(RolePrimary)),
			testMember(pgc, 2, up(RoleReplica), promoted), testMember(pgc, 3, up(RoleReplica))}, "demo-2"},
		{"promoted by hand, labelled diverged already", []*member{testMember(pgc, 1, up(RolePrimary)),
			testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica), promoted, labelled(RoleDiverged))}, "demo-3"},
		{"the primary silent: failover decides", []*member{testMember(pgc, 1, up(RolePrimary), silent),
			testMember(pgc, 2, up(RoleReplica), promoted), testMember(pgc, 3, up(RoleReplica))}, ""},
		{"the primary fenced: the operator's promotion", []*member{testMember(pgc, 1, up(RolePrimary), fenced),
			testMember(pgc, 2, up(RoleReplica), promoted), testMember(pgc, 3, up(RoleReplica))}, ""},
		{"a fenced old primary still answering", []*member{testMember(pgc, 1, up(RoleReplica), promoted, fenced),
			testMember(pgc, 2, up(RolePrimary)), testMember(pgc, 3, up(RoleReplica))}, ""},
		{"promoted and not labelled yet, no labelled primary", []*member{testMember(pgc, 1, noPod),
			testMember(pgc, 2, up(RoleReplica), promoted), testMember(pgc, 3, up(RoleReplica))}, ""},
		{"every member as it should be", []*member{testMember(pgc, 1, up(RolePrimary)),
			testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica))}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := planStrayPrimary(input(pgc, obsOf(pgc, tc.ms...)))
			if tc.whose == "" {
				assert.False(t, ok, "%+v", got)
				return
			}
			if assert.True(t, ok) {
				assert.Equal(t, actReplaceStrayPrimary, got.kind)
				assert.Equal(t, tc.whose, got.member)
				assert.Contains(t, got.reason, "promoted outside the operator")
				assert.True(t, isWarningAction(got.kind))
			}
		})
	}
	// In the whole plan, before anything waits on the stray member.
	got := plan(input(pgc, obsOf(pgc, testMember(pgc, 1, up(RolePrimary)),
		testMember(pgc, 2, up(RoleReplica), promoted, labelled(RoleDiverged)), testMember(pgc, 3, up(RoleReplica)))))
	assert.Equal(t, actReplaceStrayPrimary, got.kind)
	assert.Equal(t, "demo-2", got.member)

	fresh := testCluster(2)
	_, ok := planStrayPrimary(input(fresh, obsOf(fresh, testMember(fresh, 1, up(RolePrimary)), testMember(fresh, 2, up(RoleReplica), promoted))))
	assert.False(t, ok, "not initialized: bootstrap's business")
}
