package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
)

// drain returns the keys queued so far, in order, without running workers.
func drain(c *Controller) []cache.ObjectName {
	var keys []cache.ObjectName
	for c.queue.Len() > 0 {
		k, _ := c.queue.Get()
		c.queue.Done(k)
		c.queue.Forget(k)
		keys = append(keys, k)
	}
	return keys
}

func TestOwnerKey(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	otherController := labeledPod("ns-a", "job-pod", "db")
	otherController.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "batch/v1", Kind: "Job", Name: "backup", UID: "j", Controller: ptr.To(true),
	}}
	wrongGroup := labeledPod("ns-a", "p", "db")
	wrongGroup.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "example.com/v1", Kind: "PostgresCluster", Name: "db", UID: "x", Controller: ptr.To(true),
	}}
	futureVersion := ownedPod(pgc, "p")
	futureVersion.OwnerReferences[0].APIVersion = "postgres-operator.dev/v1"
	nonControllerRef := labeledPod("ns-a", "p", "from-label")
	nonControllerRef.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "postgres-operator.dev/v1alpha1", Kind: "PostgresCluster", Name: "db", UID: "u",
	}}
	refBeatsLabel := ownedPod(pgc, "p")
	refBeatsLabel.Labels[ClusterLabel] = "something-else"

	for name, tc := range map[string]struct {
		obj  metav1.Object
		want cache.ObjectName
		ok   bool
	}{
		"controller ref":                 {ownedPod(pgc, "db-1"), keyOf(pgc), true},
		"controller ref wins over label": {refBeatsLabel, keyOf(pgc), true},
		"any version of our group":       {futureVersion, keyOf(pgc), true},
		"label only":                     {labeledPod("ns-b", "db-1", "db"), cache.NewObjectName("ns-b", "db"), true},
		"non-controller ref uses label":  {nonControllerRef, cache.NewObjectName("ns-a", "from-label"), true},
		"foreign controller":             {otherController, cache.ObjectName{}, false},
		"foreign group":                  {wrongGroup, cache.ObjectName{}, false},
		"neither ref nor label":          {&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-a", Name: "x"}}, cache.ObjectName{}, false},
	} {
		t.Run(name, func(t *testing.T) {
			got, ok := ownerKey(tc.obj)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestClusterHandlers(t *testing.T) {
	f := newFixture(t, Options{}, []string{""})
	c := f.ctrl
	pgc := newCluster("ns-a", "db")
	key := keyOf(pgc)

	c.onClusterAdd(pgc)
	assert.Equal(t, []cache.ObjectName{key}, drain(c), "add")

	c.onClusterUpdate(pgc, pgc.DeepCopy())
	assert.Empty(t, drain(c), "unchanged ResourceVersion (resync) must be skipped")

	changed := pgc.DeepCopy()
	changed.ResourceVersion = "2"
	changed.Spec.Size = 3
	c.onClusterUpdate(pgc, changed)
	assert.Equal(t, []cache.ObjectName{key}, drain(c), "update")

	c.onClusterDelete(pgc)
	assert.Equal(t, []cache.ObjectName{key}, drain(c), "delete")

	c.onClusterDelete(cache.DeletedFinalStateUnknown{Key: "ns-a/db", Obj: pgc})
	assert.Equal(t, []cache.ObjectName{key}, drain(c), "tombstone delete")
}

func TestChildHandlers(t *testing.T) {
	f := newFixture(t, Options{}, []string{""})
	c := f.ctrl
	a, b := newCluster("ns-a", "db"), newCluster("ns-b", "db")
	pod := ownedPod(a, "db-1")

	c.onChildAdd(pod)
	assert.Equal(t, []cache.ObjectName{keyOf(a)}, drain(c), "owned pod add maps to its owner only")

	c.onChildUpdate(pod, pod.DeepCopy())
	assert.Empty(t, drain(c), "unchanged ResourceVersion (resync) must be skipped")

	changed := pod.DeepCopy()
	changed.ResourceVersion = "2"
	changed.Status.Phase = corev1.PodRunning
	c.onChildUpdate(pod, changed)
	assert.Equal(t, []cache.ObjectName{keyOf(a)}, drain(c), "owned pod update")

	c.onChildAdd(labeledPod("ns-b", "db-1", "db"))
	assert.Equal(t, []cache.ObjectName{keyOf(b)}, drain(c), "label-only pod maps in its own namespace")

	c.onChildDelete(cache.DeletedFinalStateUnknown{Key: "ns-a/db-1", Obj: pod})
	assert.Equal(t, []cache.ObjectName{keyOf(a)}, drain(c), "tombstone delete")

	c.onChildDelete(cache.DeletedFinalStateUnknown{Key: "ns-a/gone", Obj: "not an object"})
	assert.Empty(t, drain(c), "a tombstone without an object is dropped")

	c.onChildAdd(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-a", Name: "stray", ResourceVersion: "1"}})
	assert.Empty(t, drain(c), "an unowned, unlabeled child wakes nobody")
}

func TestChildUpdateWakesOldAndNewOwner(t *testing.T) {
	f := newFixture(t, Options{}, []string{""})
	c := f.ctrl
	old := labeledPod("ns-a", "p", "db")
	moved := old.DeepCopy()
	moved.ResourceVersion = "2"
	moved.Labels[ClusterLabel] = "other"

	c.onChildUpdate(old, moved)
	assert.ElementsMatch(t,
		[]cache.ObjectName{cache.NewObjectName("ns-a", "db"), cache.NewObjectName("ns-a", "other")}, drain(c))

	unlabeled := moved.DeepCopy()
	unlabeled.ResourceVersion = "3"
	delete(unlabeled.Labels, ClusterLabel)
	c.onChildUpdate(moved, unlabeled)
	assert.Equal(t, []cache.ObjectName{cache.NewObjectName("ns-a", "other")}, drain(c), "the old owner learns it lost the child")
}

func TestNewValidatesWiring(t *testing.T) {
	f := newFixture(t, Options{}, []string{"ns-a", "ns-b"})
	all := namespaceInformers("", f.pgFactories["ns-a"], f.kubeFactories["ns-a"])
	nsA := namespaceInformers("ns-a", f.pgFactories["ns-a"], f.kubeFactories["ns-a"])
	missing := nsA
	missing.Secrets = nil

	for name, tc := range map[string]struct {
		infs []NamespaceInformers
		nilR bool
	}{
		"no informers":         {infs: nil},
		"namespace twice":      {infs: []NamespaceInformers{nsA, nsA}},
		"all plus a namespace": {infs: []NamespaceInformers{all, nsA}},
		"missing informer":     {infs: []NamespaceInformers{missing}},
		"missing recorder":     {infs: []NamespaceInformers{nsA}, nilR: true},
	} {
		t.Run(name, func(t *testing.T) {
			var rec record.EventRecorder = f.recorder
			if tc.nilR {
				rec = nil
			}
			_, err := New(rec, tc.infs, f.runners.newRunner, Options{})
			require.Error(t, err)
		})
	}
}
