package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPrimaryConninfo(t *testing.T) {
	ci := primaryConninfo("demo-rw", "demo-2")
	assert.Equal(t, "host=demo-rw port=5432 user=replicator application_name=demo-2 passfile=/var/run/postgresql/.pgpass connect_timeout=2 tcp_user_timeout=5000", ci)
	assert.Equal(t, "demo-rw", conninfoHost(ci))
	assert.Equal(t, "", conninfoHost("port=5432"))
	assert.NotContains(t, ci, "'", "member.sh quotes it with single quotes")
}

// A standby left pointing at an address that is no longer the primary's is
// pointed back at -rw; one at -rw or at the primary's address is right.
func TestPlanRepoint(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	at := func(host string) memberOpt {
		return func(m *member) { m.db.PrimaryConninfo = primaryConninfo(host, m.name) }
	}
	primaryIP := func(m *member) { m.pod.Status.PodIP = "10.0.0.9" }
	for _, tc := range []struct {
		name  string
		ms    []*member
		whose string
	}{
		{"every standby on -rw", []*member{testMember(pgc, 1, up(RolePrimary), primaryIP), testMember(pgc, 2, up(RoleReplica), at("demo-rw")), testMember(pgc, 3, up(RoleReplica), at("demo-rw"))}, ""},
		{"repointed at the primary after a promotion", []*member{testMember(pgc, 1, up(RolePrimary), primaryIP), testMember(pgc, 2, up(RoleReplica), at("10.0.0.9"))}, ""},
		{"left at a dead primary's address", []*member{testMember(pgc, 1, up(RolePrimary), primaryIP), testMember(pgc, 2, up(RoleReplica), at("demo-rw")), testMember(pgc, 3, up(RoleReplica), at("10.0.0.7"))}, "demo-3"},
		{"no healthy primary: nothing to point at", []*member{testMember(pgc, 1, starting(RolePrimary)), testMember(pgc, 2, up(RoleReplica), at("10.0.0.7"))}, ""},
		{"an old member without the setting", []*member{testMember(pgc, 1, up(RolePrimary), primaryIP), testMember(pgc, 2, up(RoleReplica))}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := planRepoint(input(pgc, obsOf(pgc, tc.ms...)))
			if tc.whose == "" {
				assert.False(t, ok, "%+v", got)
				return
			}
			if assert.True(t, ok) {
				assert.Equal(t, actRepoint, got.kind)
				assert.Equal(t, tc.whose, got.member)
				assert.Contains(t, got.reason, "pointing it at demo-rw")
			}
		})
	}
}
