package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func TestPhaseOf(t *testing.T) {
	fresh := testCluster(1)
	running := testCluster(1, initialized("demo-1", 1), func(p *v1alpha1.PostgresCluster) { p.Status.Phase = v1alpha1.PhaseRunning })
	creating := testCluster(1, initialized("demo-1", 1), func(p *v1alpha1.PostgresCluster) { p.Status.Phase = v1alpha1.PhaseCreating })
	primary := func(pgc *v1alpha1.PostgresCluster) *observation {
		return obsOf(pgc, testMember(pgc, 1, up(RolePrimary)))
	}

	tests := []struct {
		name string
		pgc  *v1alpha1.PostgresCluster
		act  action
		want v1alpha1.ClusterPhase
	}{
		{"seed being created", fresh, action{kind: actCreateMember}, v1alpha1.PhaseCreating},
		{"finishing the bootstrap is still creating", fresh, action{kind: actFinishBootstrap}, v1alpha1.PhaseCreating},
		{"housekeeping right after the bootstrap ends Creating", creating, action{kind: actApplyParams}, v1alpha1.PhaseRunning},
		{"housekeeping keeps Running", running, action{kind: actSyncReplication}, v1alpha1.PhaseRunning},
		{"growing a volume is an update", running, action{kind: actGrowVolume}, v1alpha1.PhaseUpdating},
		{"an action's own phase wins", running, action{kind: actFence, phase: v1alpha1.PhaseFailingOver}, v1alpha1.PhaseFailingOver},
		{"converged", running, action{kind: actNone}, v1alpha1.PhaseRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, phaseOf(tt.pgc, primary(tt.pgc), tt.act))
		})
	}
}
