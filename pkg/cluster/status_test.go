package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// A notice that overrides a derived condition (Degraded True while every
// member is ready) leaves status as it is on the next pass: its transition
// time moves only when the stored status changes.
func TestNoticeOverridesKeepTheStatusStill(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary)))
	act := action{kind: actNone, reason: "converged", notices: []notice{{condition: v1alpha1.ConditionDegraded,
		status: metav1.ConditionTrue, reason: reasonPrimaryNodeCordoned, message: "cordoned"}}}
	pgc.Status = computeStatus(pgc, obs, act, nil)
	stored := meta.FindStatusCondition(pgc.Status.Conditions, v1alpha1.ConditionDegraded)
	stored.LastTransitionTime = metav1.NewTime(now.Add(-time.Hour))

	again := computeStatus(pgc, obs, act, nil)
	assert.True(t, equality.Semantic.DeepEqual(pgc.Status, again), "the second pass writes nothing")

	act.notices = nil
	over := meta.FindStatusCondition(computeStatus(pgc, obs, act, nil).Conditions, v1alpha1.ConditionDegraded)
	assert.Equal(t, metav1.ConditionFalse, over.Status)
	assert.NotEqual(t, stored.LastTransitionTime, over.LastTransitionTime, "a real transition is stamped")
}
