package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// listerPass runs one pass on the object as the actor gets it in
// production, from the informer cache: the test itself makes no API call.
func (w *world) listerPass() {
	w.t.Helper()
	pgc, err := w.c.cfg.Listers.Clusters.PostgresClusters(w.key.Namespace).Get(w.key.Name)
	require.NoError(w.t, err)
	_, err = w.c.reconcile(w.ctx, pgc)
	require.NoError(w.t, err)
}

// converged: Ready, and the last pass found nothing to do.
func converged(pgc *v1alpha1.PostgresCluster) bool {
	for _, c := range pgc.Status.Conditions {
		if c.Type == v1alpha1.ConditionProgressing && (c.Status != metav1.ConditionFalse || c.Reason != "Converged") {
			return false
		}
	}
	return condition(pgc, v1alpha1.ConditionReady) == metav1.ConditionTrue && pgc.Status.Phase == v1alpha1.PhaseRunning
}

// TestConvergedClusterMakesNoWrites: a primary with two streaming replicas,
// everything as specified. Passes read the listers and probe PostgreSQL;
// they write nothing, to the API or to PostgreSQL, and read nothing from
// the API server. The second half changes the stored status and checks the
// same recorders do see the write that follows, so the first half can fail.
func TestConvergedClusterMakesNoWrites(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), primaryAt(100)),
		testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(100)))
	// Settling: slots, synchronous standby names and parameters are applied
	// once per pod, then status says so.
	for i := 0; !converged(w.current()); i++ {
		require.Less(t, i, 20, "never converged: %v", w.current().Status.Conditions)
		w.pass()
	}

	w.log.reset()
	w.kube.ClearActions()
	w.pg.ClearActions()
	calls := len(w.db.Calls())
	for range 5 {
		w.listerPass()
	}
	assert.Empty(t, w.log.writes(), "writes in the steady state")
	assert.Empty(t, w.kube.Actions(), "Kubernetes API calls in the steady state (reads come from listers)")
	assert.Empty(t, w.pg.Actions(), "PostgresCluster API calls in the steady state")
	steady := w.db.Calls()[calls:]
	assert.Len(t, steady, 5*3, "one probe per member per pass")
	for _, c := range steady {
		assert.Equal(t, "Probe", c.Method)
	}

	t.Run("the recorders see a write when status differs", func(t *testing.T) {
		stale := w.current()
		stale.Status.Phase = v1alpha1.PhaseUpdating
		stale.ResourceVersion = "999999"
		require.NoError(t, w.pg.Tracker().Update(v1alpha1.SchemeGroupVersion.WithResource("postgresclusters"), stale, stale.Namespace))
		require.Eventually(t, func() bool {
			got, err := w.c.cfg.Listers.Clusters.PostgresClusters("ns").Get("demo")
			return err == nil && got.ResourceVersion == "999999"
		}, 5*time.Second, time.Millisecond)

		w.listerPass()
		assert.Equal(t, []string{statusWrite}, w.log.writes())
		assert.Equal(t, v1alpha1.PhaseRunning, w.current().Status.Phase)
	})
}
