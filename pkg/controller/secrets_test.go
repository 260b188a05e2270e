package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// A user's password Secret controlled by another controller, once the
// operator labelled it, wakes the cluster its label names.
func TestSecretOfAnotherControllerWakesItsLabelledCluster(t *testing.T) {
	f := newFixture(t, Options{}, []string{""})
	c := f.ctrl
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-a", Name: "etl-pw", ResourceVersion: "1",
		Labels: map[string]string{ClusterLabel: "db"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret",
			Name: "etl", UID: "e", Controller: ptr.To(true)}}}}
	h := c.secretHandlers()

	h.OnAdd(s, false)
	assert.Equal(t, []cache.ObjectName{cache.NewObjectName("ns-a", "db")}, drain(c))
	rotated := s.DeepCopy()
	rotated.ResourceVersion = "2"
	h.OnUpdate(s, rotated)
	assert.Equal(t, []cache.ObjectName{cache.NewObjectName("ns-a", "db")}, drain(c))
	h.OnUpdate(rotated, rotated.DeepCopy())
	assert.Empty(t, drain(c), "a resync")

	unlabelled := s.DeepCopy()
	unlabelled.Labels = nil
	h.OnDelete(unlabelled)
	assert.Empty(t, drain(c), "neither ours nor labelled")

	pgc := newCluster("ns-a", "owner")
	owned := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-a", Name: "owner-app", ResourceVersion: "1",
		OwnerReferences: ownedPod(pgc, "x").OwnerReferences}}
	h.OnAdd(owned, false)
	assert.Equal(t, []cache.ObjectName{keyOf(pgc)}, drain(c), "the controller ref first, as for every child")
}
