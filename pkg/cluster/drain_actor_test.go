package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

var (
	nodesResource = corev1.SchemeGroupVersion.WithResource("nodes")
	pdbsResource  = policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets")
)

// setNode stores a node, cordoned or not, and waits for the lister to see it.
func (w *world) setNode(name string, cordoned bool) {
	w.t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Unschedulable: cordoned}}
	if _, err := w.kube.Tracker().Get(nodesResource, "", name); apierrors.IsNotFound(err) {
		require.NoError(w.t, w.kube.Tracker().Add(node))
	}
	require.Eventually(w.t, func() bool {
		n, err := w.c.cfg.Listers.Nodes.Get(name)
		if err == nil && n.Spec.Unschedulable == cordoned {
			return true
		}
		// Write it again: the fake API never delivers a write made before
		// the informer's watch started.
		require.NoError(w.t, w.kube.Tracker().Update(nodesResource, node, ""))
		return false
	}, 5*time.Second, 5*time.Millisecond, "node %s", name)
}

// settle runs passes until the cluster is converged, then forgets the writes.
func (w *world) settle() {
	w.t.Helper()
	for i := 0; !converged(w.current()); i++ {
		require.Less(w.t, i, 20, "never converged: %v", w.current().Status.Conditions)
		w.pass()
	}
	w.log.reset()
}

// recordEvents replaces the world's silent recorder with one that keeps Events.
func (w *world) recordEvents() *record.FakeRecorder {
	rec := record.NewFakeRecorder(100)
	w.c.cfg.Recorder = rec
	return rec
}

func eventsOf(rec *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func conditionOf(pgc *v1alpha1.PostgresCluster, t string) metav1.Condition {
	for _, c := range pgc.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return metav1.Condition{}
}

// TestCordonedPrimarySwitchesOver: `kubectl cordon` of the primary's node
// makes the next pass switch over, the same writes as a requested
// switchover, to the replica on a schedulable node; the promotion then
// goes to it.
func TestCordonedPrimarySwitchesOver(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), primaryAt(500), onNode("node-a")),
		testMember(pgc, 2, up(RoleReplica), at(500), onNode("node-a")), testMember(pgc, 3, up(RoleReplica), at(500), onNode("node-c")))
	for _, n := range []string{"node-a", "node-c"} {
		w.setNode(n, false)
	}
	w.settle()
	rec := w.recordEvents()

	w.setNode("node-a", true)
	w.pass()
	assert.Equal(t, []string{"sql Checkpoint @demo-1", statusWrite, "patch pods demo-1", "delete pods demo-1", statusWrite}, w.log.writes())
	assertDelete(t, w, "delete pods demo-1", switchoverGrace, "uid-demo-1")
	assert.Equal(t, "demo-3", w.statusWrites()[0].Status.SwitchoverTarget, "not demo-2: its node is cordoned too")
	assert.Equal(t, []string{"Normal Switchover the primary's node node-a is cordoned (draining): switching over to demo-3 before it is evicted"},
		eventsOf(rec))

	// The old primary shuts down within its grace period (a pass waits),
	// then the kubelet removes its pod.
	w.waitPod("demo-1", func(p *corev1.Pod) bool { return p != nil && p.DeletionTimestamp != nil })
	w.pass()
	w.kubeletRemoves("demo-1")
	w.log.reset()
	w.pass()
	assert.Equal(t, promotion("demo-3", "", "demo-2", "demo-1", "demo-2"), w.log.writes(), "demo-3 wins the tie on WAL")
}

// TestCordonedOnlyNodeSaysSo: one node, cordoned. There is no replica on a
// schedulable node, so nothing moves; the user is told once, by a Warning
// Event and the Degraded condition, which lasts as long as the cordon.
func TestCordonedOnlyNodeSaysSo(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), onNode("node-a")), testMember(pgc, 2, up(RoleReplica), onNode("node-a")))
	w.setNode("node-a", false)
	w.settle()
	rec := w.recordEvents()
	want := "the primary demo-1's node node-a is cordoned (draining), but no healthy replica with a volume of its own runs on a schedulable node: " +
		"no switchover; evicting demo-1 stops writes until it runs again"

	w.setNode("node-a", true)
	w.pass()
	assert.Equal(t, []string{statusWrite}, w.log.writes(), "no switchover")
	assert.Equal(t, []string{"Warning PrimaryNodeCordoned " + want}, eventsOf(rec))
	degraded := conditionOf(w.current(), v1alpha1.ConditionDegraded)
	assert.Equal(t, metav1.ConditionTrue, degraded.Status)
	assert.Equal(t, reasonPrimaryNodeCordoned, degraded.Reason)
	assert.Equal(t, want, degraded.Message)

	w.log.reset()
	w.pass()
	assert.Empty(t, w.log.writes(), "said once")
	assert.Empty(t, eventsOf(rec), "said once")

	w.setNode("node-a", false)
	w.pass()
	assert.Equal(t, metav1.ConditionFalse, conditionOf(w.current(), v1alpha1.ConditionDegraded).Status, "uncordoned")
}

// TestCordonUnseenWithoutNodes: an operator that may not list nodes (a
// namespaced install) has no node lister; a cordon changes nothing.
func TestCordonUnseenWithoutNodes(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), onNode("node-a")), testMember(pgc, 2, up(RoleReplica), onNode("node-b")))
	w.setNode("node-a", true)
	w.setNode("node-b", false)
	w.c.cfg.Listers.Nodes = nil
	w.settle()
	assert.Equal(t, "demo-1", w.current().Status.Primary)
	assert.Empty(t, w.db.CallsTo("Checkpoint"), "no switchover")
}

// TestDisruptionBudget: a cluster without its budget gets it; one the API
// refuses (here: a budget of that name that is not the operator's) is
// reported once and tried again only after pdbRetry.
func TestDisruptionBudget(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	newBudgetless := func(t *testing.T) *world { return newWorldOf(t, pgc, false, testMember(pgc, 1, up(RolePrimary))) }

	t.Run("created once", func(t *testing.T) {
		w := newBudgetless(t)
		// A pass creates one budget, and the next waits until the cache
		// has it (expectations.go).
		require.Eventually(t, func() bool {
			w.pass()
			_, err := w.c.cfg.Listers.PDBs.PodDisruptionBudgets("ns").Get("demo")
			_, errPrimary := w.c.cfg.Listers.PDBs.PodDisruptionBudgets("ns").Get("demo-primary")
			return err == nil && errPrimary == nil
		}, 5*time.Second, time.Millisecond)
		w.settle()
		for range 3 {
			w.pass()
		}
		assert.Empty(t, w.log.writes(), "steady once created")
		created, err := w.kube.PolicyV1().PodDisruptionBudgets("ns").Get(w.ctx, "demo", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, buildPDBs(pgc)[0].Spec, created.Spec)
		primary, err := w.kube.PolicyV1().PodDisruptionBudgets("ns").Get(w.ctx, "demo-primary", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, buildPDBs(pgc)[1].Spec, primary.Spec)
		assert.Equal(t, 2, pdbCreates(w), "each budget once")
	})

	t.Run("refused: reported, retried later", func(t *testing.T) {
		w := newBudgetless(t)
		clock := testingclock.NewFakeClock(time.Now())
		w.c.cfg.Clock = clock
		rec := w.recordEvents()
		w.kube.PrependReactor("create", "poddisruptionbudgets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewAlreadyExists(pdbsResource.GroupResource(), "demo")
		})
		w.settle()
		require.Equal(t, 1, pdbCreates(w))
		for range 3 {
			w.pass()
		}
		assert.Equal(t, 1, pdbCreates(w), "not retried before pdbRetry")
		refusals := 0
		for _, e := range eventsOf(rec) {
			if strings.HasPrefix(e, "Warning DisruptionBudgetRefused the PodDisruptionBudget demo was refused") {
				refusals++
			}
		}
		assert.Equal(t, 1, refusals)

		clock.Step(pdbRetry)
		w.pass()
		assert.Equal(t, 2, pdbCreates(w), "retried once due")
	})
}

// pdbCreates counts the budget's creations the fake API was asked for,
// refused ones included.
func pdbCreates(w *world) int {
	n := 0
	for _, a := range w.kube.Actions() {
		if a.GetVerb() == "create" && a.GetResource() == pdbsResource {
			n++
		}
	}
	return n
}
