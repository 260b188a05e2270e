package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func switchoverTo(req string) func(*v1alpha1.PostgresCluster) {
	return func(p *v1alpha1.PostgresCluster) {
		p.Annotations = map[string]string{v1alpha1.SwitchoverAnnotation: req}
	}
}

func TestPlanSwitchover(t *testing.T) {
	healthy := func(pgc *v1alpha1.PostgresCluster) planInput {
		return failoverInput(pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica), at(10)), testMember(pgc, 3, up(RoleReplica), at(20)))
	}
	tests := []struct {
		name   string
		pgc    *v1alpha1.PostgresCluster
		kind   actionKind
		target string
	}{
		{"named target", testCluster(3, initialized("demo-1", 3), switchoverTo("demo-2")), actSwitchover, "demo-2"},
		{"any picks the most WAL", testCluster(3, initialized("demo-1", 3), switchoverTo("any")), actSwitchover, "demo-3"},
		{"unknown target refused once", testCluster(3, initialized("demo-1", 3), switchoverTo("demo-9")), actRejectSwitchover, "demo-9"},
		{"already primary", testCluster(3, initialized("demo-1", 3), switchoverTo("demo-1")), actRejectSwitchover, "demo-1"},
		{"handled request is not repeated", testCluster(3, initialized("demo-1", 3), switchoverTo("demo-2"),
			func(p *v1alpha1.PostgresCluster) { p.Status.LastSwitchover = "demo-2" }), actNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(healthy(tt.pgc))
			assert.Equal(t, tt.kind, got.kind, got.reason)
			assert.Equal(t, tt.target, got.target)
		})
	}
}

func TestPromotionPrefersTheSwitchoverTargetOnATie(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) { p.Status.SwitchoverTarget = "demo-3" })
	got := plan(failoverInput(pgc, testMember(pgc, 1, noPod), testMember(pgc, 2, up(RoleReplica), at(50)), testMember(pgc, 3, up(RoleReplica), at(50))))
	assert.Equal(t, actPromote, got.kind)
	assert.Equal(t, "demo-3", got.member)
}

func TestRollPrimaryBySwitchover(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3))
	one := testCluster(1, initialized("demo-1", 1))
	noFailover := testCluster(3, initialized("demo-1", 3), failoverDisabled)
	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		target string
		phase  v1alpha1.ClusterPhase
		reason string
	}{
		{"the primary hands over to the replica with the most WAL", failoverInput(three,
			testMember(three, 1, up(RolePrimary), pendingRestart), testMember(three, 2, up(RoleReplica), at(10)), testMember(three, 3, up(RoleReplica), at(20))),
			actSwitchover, "demo-3", v1alpha1.PhaseUpdating,
			"restarting demo-1 (primary) to apply changes: switching over to demo-3 first; demo-1 comes back as a replica"},
		{"a new image: the same", edit(three, func(in *planInput) { in.image = "postgres:15.9" },
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica), at(10)), testMember(three, 3, up(RoleReplica), at(20))),
			actDeletePod, "", v1alpha1.PhaseUpdating, ""}, // replicas first: demo-3
		{"a cluster of one has its primary's pod deleted", failoverInput(one, testMember(one, 1, up(RolePrimary), pendingRestart)),
			actDeletePod, "", v1alpha1.PhaseUpdating, "restarting demo-1 (primary) to apply changes"},
		{"without automatic failover the pod is deleted", failoverInput(noFailover,
			testMember(noFailover, 1, up(RolePrimary), pendingRestart), testMember(noFailover, 2, up(RoleReplica)), testMember(noFailover, 3, up(RoleReplica))),
			actDeletePod, "", v1alpha1.PhaseUpdating, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, got.reason)
			assert.Equal(t, tt.target, got.target)
			assert.Equal(t, tt.phase, phaseOf(tt.in.cluster, tt.in.obs, got))
			if tt.reason != "" {
				assert.Equal(t, tt.reason, got.reason)
			}
		})
	}
}

// Removing the annotation forgets the handled request, so the same target
// can be asked for again; while it stays, the request is not repeated.
func TestSwitchoverRequestForgottenWhenTheAnnotationGoes(t *testing.T) {
	handled := func(p *v1alpha1.PostgresCluster) { p.Status.LastSwitchover = "any" }
	kept := testCluster(3, initialized("demo-1", 3), switchoverTo("any"), handled)
	in := failoverInput(kept, testMember(kept, 1, up(RolePrimary)), testMember(kept, 2, up(RoleReplica)))
	assert.Equal(t, "any", computeStatus(kept, in.obs, action{kind: actNone}, nil).LastSwitchover)

	removed := testCluster(3, initialized("demo-1", 3), handled)
	in = failoverInput(removed, testMember(removed, 1, up(RolePrimary)), testMember(removed, 2, up(RoleReplica)))
	assert.Empty(t, computeStatus(removed, in.obs, action{kind: actNone}, nil).LastSwitchover)
}

// Right after ALTER SYSTEM, a replica may not have reloaded yet and so
// shows no pending restart: the primary is not rolled (switched over to
// that replica) until the reload grace is over.
func TestRollPrimaryWaitsForTheReplicasReload(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3))
	in := failoverInput(three,
		testMember(three, 1, up(RolePrimary), pendingRestart), testMember(three, 2, up(RoleReplica), at(10)), testMember(three, 3, up(RoleReplica), at(20)))
	in.paramsReloading = true
	got := plan(in)
	assert.NotEqual(t, actSwitchover, got.kind, got.reason)
	in.paramsReloading = false
	assert.Equal(t, actSwitchover, plan(in).kind)
}
