package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// `kubectl delete` then `kubectl apply` of the same cluster: the garbage
// collector still removes the deleted cluster's pod, volume and Secret when
// the new one's actor starts. It waits for them, saying so, and then
// bootstraps a cluster of its own: it never takes the old pod or volume.
func TestNewClusterWaitsForItsDeletedNamesakesChildren(t *testing.T) {
	pgc := testCluster(1)
	deleted := testCluster(1)
	deleted.UID = "uid-of-the-deleted-one"
	old := ownerRef(deleted)
	child := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: memberLabels("demo", "demo-1"),
			OwnerReferences: []metav1.OwnerReference{old}}
	}
	leftovers := []runtime.Object{
		&corev1.Pod{ObjectMeta: child("demo-1"), Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.9"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: child("demo-1-data")},
		&corev1.Secret{ObjectMeta: child("demo-superuser"), Data: map[string][]byte{"password": []byte("old")}},
	}
	f := newActorFixtureAsIs(t, pgc, leftovers...)

	f.passUntil("the wait is in the status", func() bool {
		c := progressing(f.current())
		return c != nil && c.Reason == reasonPreviousClusterLeftovers
	})
	assert.Equal(t, "waiting for the garbage collector to delete what the deleted cluster of the same name left: demo-1, demo-1-data, demo-superuser",
		progressing(f.current()).Message)
	assert.Empty(t, writesBut(f, "postgresclusters"), "nothing is created or taken over while they exist")
	assert.Zero(t, f.current().Status.LastOrdinal)

	// The garbage collector's work.
	require.NoError(t, f.kube.CoreV1().Pods("ns").Delete(f.ctx, "demo-1", metav1.DeleteOptions{}))
	require.NoError(t, f.kube.CoreV1().PersistentVolumeClaims("ns").Delete(f.ctx, "demo-1-data", metav1.DeleteOptions{}))
	require.NoError(t, f.kube.CoreV1().Secrets("ns").Delete(f.ctx, "demo-superuser", metav1.DeleteOptions{}))

	f.passUntil("a seed of its own", func() bool {
		pod, err := f.kube.CoreV1().Pods("ns").Get(f.ctx, "demo-1", metav1.GetOptions{})
		return err == nil && metav1.IsControlledBy(pod, pgc)
	})
	pvc, err := f.kube.CoreV1().PersistentVolumeClaims("ns").Get(f.ctx, "demo-1-data", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, metav1.IsControlledBy(pvc, pgc), "a new volume")
	secret, err := f.kube.CoreV1().Secrets("ns").Get(f.ctx, "demo-superuser", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, "old", string(secret.Data["password"]), "a new password")
}

func progressing(pgc *v1alpha1.PostgresCluster) *metav1.Condition {
	return findCondition(pgc.Status.Conditions, v1alpha1.ConditionProgressing) // safety_identity_test.go
}

// writesBut lists the fixture's API writes to resources other than skip.
func writesBut(f *actorFixture, skip string) []string {
	var out []string
	for _, a := range writes(append(f.kube.Actions(), f.pg.Actions()...)) {
		if a.GetResource().Resource != skip {
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}
