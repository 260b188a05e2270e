package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"

	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

var pvsResource = corev1.SchemeGroupVersion.WithResource("persistentvolumes")

func readyNode(name string, status corev1.ConditionStatus, since time.Time) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionUnknown},
		{Type: corev1.NodeReady, Status: status, LastTransitionTime: metav1.NewTime(since)},
	}}}
}

// hostTerm admits the nodes whose hostname label is one of hosts.
func hostTerm(hosts ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
		{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: hosts}}}
}

func volumeWith(name string, terms ...corev1.NodeSelectorTerm) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if len(terms) > 0 {
		pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: terms}}
	}
	return pv
}

// boundTo binds the member's claim to a volume.
func boundTo(pv string) memberOpt { return func(m *member) { m.pvc.Spec.VolumeName = pv } }

// placedOn: the scheduler chose node for the member's claim.
func placedOn(node string) memberOpt {
	return func(m *member) {
		if m.pvc.Annotations == nil {
			m.pvc.Annotations = map[string]string{}
		}
		m.pvc.Annotations[selectedNodeAnnotation] = node
	}
}

func TestReadyLoss(t *testing.T) {
	since := now.Add(-time.Minute)
	tests := []struct {
		name  string
		node  *corev1.Node
		lost  bool
		state string
	}{
		{"Ready", readyNode("n", corev1.ConditionTrue, since), false, ""},
		{"the kubelet says NotReady", readyNode("n", corev1.ConditionFalse, since), true, nodeNotReady},
		{"the kubelet stopped reporting", readyNode("n", corev1.ConditionUnknown, since), true, nodeUnreachable},
		{"registering, no Ready condition yet", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loss, lost := readyLoss(tt.node)
			assert.Equal(t, tt.lost, lost)
			if tt.lost {
				assert.Equal(t, nodeLoss{node: "n", state: tt.state, since: since}, loss, "since the condition turned")
			}
		})
	}
}

func TestPinnedToOneNode(t *testing.T) {
	zone := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
		{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"z1"}}}}
	byName := corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
		{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}
	tests := []struct {
		name   string
		pv     *corev1.PersistentVolume
		pinned bool
	}{
		{"a local volume (hostname In [n1])", volumeWith("pv", hostTerm("n1")), true},
		{"the same host in every term", volumeWith("pv", hostTerm("n1"), hostTerm("n1")), true},
		{"a node by name", volumeWith("pv", byName), true},
		{"a zonal disk", volumeWith("pv", zone), false},
		{"no node affinity (network storage)", volumeWith("pv"), false},
		{"two hosts", volumeWith("pv", hostTerm("n1", "n2")), false},
		{"a host or another", volumeWith("pv", hostTerm("n1"), hostTerm("n2")), false},
		{"a host or a zone", volumeWith("pv", hostTerm("n1"), zone), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.pinned, pinnedToOneNode(tt.pv))
		})
	}
}

func TestMemberNode(t *testing.T) {
	pgc := testCluster(3)
	assert.Equal(t, "n1", memberNode(testMember(pgc, 1, onNode("n1"), placedOn("n2"))), "the pod's node first")
	assert.Equal(t, "n2", memberNode(testMember(pgc, 1, placedOn("n2"))), "a pod not bound: its claim's node")
	assert.Equal(t, "n2", memberNode(testMember(pgc, 1, noPod, placedOn("n2"))))
	assert.Equal(t, "", memberNode(testMember(pgc, 1)))
}

// pvGets counts the PersistentVolume reads the fake API was asked for.
func pvGets(f *actorFixture) int {
	n := 0
	for _, a := range f.kube.Actions() {
		if a.GetVerb() == "get" && a.GetResource() == pvsResource {
			n++
		}
	}
	return n
}

// TestObserveNodeLost: through the Nodes lister and the API. Members on a
// Ready node are not lost; one on a node Ready Unknown is, since the
// condition turned, with its pinned volume read once; one whose claim was
// placed on a node that is gone is, since the actor first saw it gone.
func TestObserveNodeLost(t *testing.T) {
	pgc := testCluster(4, initialized("demo-1", 4))
	turned := now.Add(-2 * time.Minute)
	f := newActorFixture(t, pgc, readyNode("node-a", corev1.ConditionTrue, turned),
		readyNode("node-c", corev1.ConditionUnknown, turned), readyNode("node-d", corev1.ConditionFalse, turned),
		volumeWith("pv-3", hostTerm("node-c")), volumeWith("pv-4"))
	clk := testingclock.NewFakeClock(now)
	f.c.cfg.Clock = clk
	members := members{
		testMember(pgc, 1, up(RolePrimary), onNode("node-a"), boundTo("pv-1")),
		testMember(pgc, 2, noPod, placedOn("node-gone")),
		testMember(pgc, 3, unreachableOn("node-c"), boundTo("pv-3")),
		testMember(pgc, 4, unreachableOn("node-d"), boundTo("pv-4")),
	}

	obs := &observation{members: members}
	f.c.observeNodeLost(f.ctx, obs)
	assert.Equal(t, map[string]nodeLoss{
		"demo-2": {node: "node-gone", state: nodeGone, since: now, volume: volumeNoData},
		"demo-3": {node: "node-c", state: nodeUnreachable, since: turned, volume: volumePinned},
		"demo-4": {node: "node-d", state: nodeNotReady, since: turned, volume: volumeMovable},
	}, obs.nodeLost)

	clk.Step(time.Minute)
	f.c.observeNodeLost(f.ctx, obs)
	assert.Equal(t, now, obs.nodeLost["demo-2"].since, "gone since the actor first saw it")
	assert.Equal(t, 2, pvGets(f), "each volume read once")

	t.Run("a volume that cannot be read", func(t *testing.T) {
		f.c.nodes.volumes = nil
		f.kube.PrependReactor("get", "persistentvolumes", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(pvsResource.GroupResource(), "pv-3", nil)
		})
		obs := &observation{members: members[2:3]}
		f.c.observeNodeLost(f.ctx, obs)
		loss := obs.nodeLost["demo-3"]
		assert.Equal(t, volumeUnread, loss.volume)
		assert.Contains(t, loss.unread, "forbidden")
	})

	t.Run("without the Nodes lister, no loss is seen", func(t *testing.T) {
		f.c.cfg.Listers.Nodes = nil
		obs := &observation{members: members}
		f.c.observeNodeLost(f.ctx, obs)
		assert.Empty(t, obs.nodeLost)
	})

	t.Run("back: forgotten", func(t *testing.T) {
		f.c.observeNodeLost(f.ctx, &observation{members: members[:1]})
		assert.Empty(t, f.c.nodes.lostSeen)
	})
}

// setNodeReady stores a node with its Ready condition and waits until the
// lister sees it.
func (w *world) setNodeReady(name string, status corev1.ConditionStatus, since time.Time) {
	w.t.Helper()
	node := readyNode(name, status, since)
	if _, err := w.kube.Tracker().Get(nodesResource, "", name); apierrors.IsNotFound(err) {
		require.NoError(w.t, w.kube.Tracker().Add(node))
	}
	require.Eventually(w.t, func() bool {
		n, err := w.c.cfg.Listers.Nodes.Get(name)
		if err == nil && equality.Semantic.DeepEqual(n.Status, node.Status) {
			return true
		}
		require.NoError(w.t, w.kube.Tracker().Update(nodesResource, node, "")) // see setNode
		return false
	}, 5*time.Second, 5*time.Millisecond, "node %s", name)
}

// TestLostNodeReplicaReplaced: a replica's node stops reporting. Until the
// grace ends the operator only says so; then one pass force-deletes its pod
// and deletes its volume, and the next clones a new member from the
// primary. The primary is never touched.
func TestLostNodeReplicaReplaced(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), onNode("node-a")),
		testMember(pgc, 2, up(RoleReplica), onNode("node-b")), testMember(pgc, 3, up(RoleReplica), onNode("node-c"), boundTo("pv-3")))
	clk := testingclock.NewFakeClock(time.Now().Truncate(time.Second))
	w.c.cfg.Clock = clk
	require.NoError(t, w.kube.Tracker().Add(volumeWith("pv-3", hostTerm("node-c"))))
	for _, n := range []string{"node-a", "node-b", "node-c"} {
		w.setNodeReady(n, corev1.ConditionTrue, clk.Now().Add(-time.Hour))
	}
	w.settle()
	rec := w.recordEvents()

	// node-c stops: the node controller marks it, demo-3 stops answering.
	w.setNodeReady("node-c", corev1.ConditionUnknown, clk.Now())
	w.db.Update(memberIP(3), func(s *dbfake.Server) { s.Down = true })
	w.pass()
	assert.NotContains(t, w.log.writes(), "delete pods demo-3", "not before the grace")
	due := clk.Now().Add(time.Minute).UTC().Format(time.TimeOnly)
	assert.Contains(t, eventsOf(rec), "Warning NodeLost replica demo-3's node node-c is unreachable (Ready Unknown) since "+
		clk.Now().UTC().Format(time.TimeOnly)+" and its volume is on that node only: unless the node is back by "+due+
		" (spec.failover.nodeLostAfterSeconds 60), it is replaced by a new member cloned from the primary on another node")
	assert.Equal(t, reasonNodeLost, conditionOf(w.current(), "Degraded").Reason)

	clk.Step(time.Minute)
	w.log.reset()
	w.pass()
	writes := w.log.writes()
	// Its slot goes too: the primary no longer keeps WAL for it.
	require.Equal(t, []string{"delete pods demo-3", "delete persistentvolumeclaims demo-3-data", "sql DropSlot @demo-1 demo_3"}, writes[:3])
	assertDelete(t, w, "delete pods demo-3", 0, "")
	for _, wr := range writes {
		assert.NotRegexp(t, `^(patch|delete) (pods|persistentvolumeclaims) demo-1`, wr, "the primary is never touched")
	}
	assert.Contains(t, eventsOf(rec), "Normal ReplaceLostMember replica demo-3's node node-c has been unreachable (Ready Unknown) for 1m0s "+
		"(spec.failover.nodeLostAfterSeconds 60) and its volume is on that node only: force-deleting its pod and deleting its volume claim; "+
		"its data is cloned again from the primary demo-1, into a new member on another node")

	w.waitPod("demo-3", func(p *corev1.Pod) bool { return p == nil })
	w.log.reset()
	w.passUntil("a new member", func() bool {
		_, err := w.c.cfg.Listers.Pods.Pods("ns").Get("demo-4")
		return err == nil
	})
	assert.Contains(t, w.log.writes(), "create pods demo-4")
	assert.Equal(t, "demo-1", w.current().Status.Primary)
}
