package cluster

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	k8stesting "k8s.io/client-go/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// TestRollPrimarySequence: a setting that needs a restart, with the
// replicas already rolled. The primary is switched over (checkpoint,
// target recorded, graceful fence), the target promoted once the old pod is
// gone, and the old primary's pod recreated as a replica with the new spec.
// status.lastSwitchover, the user's request, is left alone.
func TestRollPrimarySequence(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3), switchoverTo("demo-2"),
		func(p *v1alpha1.PostgresCluster) { p.Status.LastSwitchover = "demo-2" })
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), primaryAt(500), pendingRestart),
		testMember(pgc, 2, up(RoleReplica), at(500)), testMember(pgc, 3, up(RoleReplica), at(500)))

	// Housekeeping first (slots, parameters), then the roll.
	for i := 0; i < 10 && !slices.Contains(w.log.writes(), "patch pods demo-1"); i++ {
		w.log.reset()
		w.pass()
	}
	assert.Equal(t, []string{"sql Checkpoint @demo-1", statusWrite, "patch pods demo-1", "delete pods demo-1", statusWrite}, w.log.writes())
	recorded := w.statusWrites()[0].Status
	assert.Equal(t, "demo-2", recorded.SwitchoverTarget, "the tie on WAL goes to the lowest ordinal, recorded as the target")
	assert.Equal(t, "demo-2", recorded.LastSwitchover, "a roll is no request: unchanged")
	assertPatch(t, w, "patch pods demo-1", fencePatch)
	assertDelete(t, w, "delete pods demo-1", switchoverGrace, "uid-demo-1")
	assert.Equal(t, v1alpha1.PhaseUpdating, w.statusWrites()[1].Status.Phase)

	// The old primary shuts down within its grace period: nothing moves.
	w.waitPod("demo-1", func(p *corev1.Pod) bool { return p != nil && p.DeletionTimestamp != nil })
	w.log.reset()
	w.pass()
	assert.Equal(t, []string{statusWrite}, w.log.writes(), "no promotion while the old primary may run")
	w.kubeletRemoves("demo-1")
	w.log.reset()
	w.pass()
	assert.Equal(t, promotion("demo-2", "", "demo-3", "demo-1", "demo-3"), w.log.writes())

	w.waitPod("demo-2", func(p *corev1.Pod) bool { return p != nil && p.Labels[RoleLabel] == RolePrimary })
	w.log.reset()
	w.pass()
	assert.Equal(t, []string{"create pods demo-1", statusWrite}, w.log.writes())
	pod := w.log.action(t, "create pods demo-1").(k8stesting.CreateAction).GetObject().(*corev1.Pod)
	assert.Equal(t, RoleReplica, pod.Labels[RoleLabel], "the old primary comes back as a replica")
	assert.Equal(t, podSpecHash(w.current(), testImage), pod.Annotations[SpecHashAnnotation])
}
