package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

var nodesGVR = corev1.SchemeGroupVersion.WithResource("nodes")

func testNode(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"}}
}

func podOn(pod *corev1.Pod, node string) *corev1.Pod {
	pod.Spec.NodeName = node
	return pod
}

// A node's cordon, uncordon, taint or change of readiness wakes every
// cluster with a member on it, in whichever watched namespace; its other
// status reports wake nobody.
func TestNodeUpdatesWakeTheClustersOnTheNode(t *testing.T) {
	f := newFixture(t, Options{}, []string{"ns-a", "ns-b"})
	f.watchNodes()
	c := f.ctrl
	a, b, other := newCluster("ns-a", "db"), newCluster("ns-b", "db"), newCluster("ns-a", "elsewhere")
	for ns, pod := range map[string]*corev1.Pod{
		"ns-a": podOn(ownedPod(a, "db-1"), "node-1"),
		"ns-b": podOn(ownedPod(b, "db-2"), "node-1"),
	} {
		require.NoError(t, f.kubeFactories[ns].Core().V1().Pods().Informer().GetIndexer().Add(pod))
	}
	require.NoError(t, f.kubeFactories["ns-a"].Core().V1().Pods().Informer().GetIndexer().Add(podOn(ownedPod(other, "elsewhere-1"), "node-2")))

	node := testNode("node-1")
	cordoned := node.DeepCopy()
	cordoned.ResourceVersion, cordoned.Spec.Unschedulable = "2", true
	c.onNodeUpdate(node, cordoned)
	assert.ElementsMatch(t, []cache.ObjectName{keyOf(a), keyOf(b)}, drain(c), "cordon")

	tainted := cordoned.DeepCopy()
	tainted.ResourceVersion = "3"
	tainted.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}}
	c.onNodeUpdate(cordoned, tainted)
	assert.ElementsMatch(t, []cache.ObjectName{keyOf(a), keyOf(b)}, drain(c), "taint")

	ready := tainted.DeepCopy()
	ready.ResourceVersion = "4"
	ready.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	c.onNodeUpdate(tainted, ready)
	assert.ElementsMatch(t, []cache.ObjectName{keyOf(a), keyOf(b)}, drain(c), "Ready")

	heartbeat := ready.DeepCopy()
	heartbeat.ResourceVersion = "5"
	heartbeat.Status.Conditions[0].LastHeartbeatTime = metav1.Now()
	heartbeat.Status.Allocatable = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}
	c.onNodeUpdate(ready, heartbeat)
	assert.Empty(t, drain(c), "a status update")

	lost := heartbeat.DeepCopy()
	lost.ResourceVersion = "6"
	lost.Status.Conditions[0].Status = corev1.ConditionUnknown
	c.onNodeUpdate(heartbeat, lost)
	assert.ElementsMatch(t, []cache.ObjectName{keyOf(a), keyOf(b)}, drain(c), "unreachable")
}

// Through the informers: a cordon stored in the API reaches the runner of
// the cluster whose member runs on the node.
func TestCordonReachesTheRunner(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	f := newFixture(t, Options{Workers: 1}, []string{""}, pgc, podOn(ownedPod(pgc, "db-1"), "node-1"), testNode("node-1"))
	f.watchNodes()
	f.run()
	r := f.runners.waitRunner(t, keyOf(pgc), 1)
	f.flush(r)
	before := r.numUpdates()

	node := testNode("node-1")
	node.ResourceVersion, node.Spec.Unschedulable = "2", true
	require.NoError(t, f.kube.Tracker().Update(nodesGVR, node, ""))
	waitUntil(t, "the runner is woken", func() bool { return r.numUpdates() > before })
}
