package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Objects named like the cluster's children but not its own (another
// operator's, one made by hand) are never taken over: the create fails with
// an error naming them, and no pod is made on another's volume.
func TestForeignObjectsAreNotTakenOver(t *testing.T) {
	pgc := testCluster(1)
	cnpg := []metav1.OwnerReference{{APIVersion: "postgresql.cnpg.io/v1", Kind: "Cluster", Name: "demo", UID: "cnpg-uid", Controller: ptr.To(true)}}
	otherService := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "demo-rw", Namespace: "ns"}}
	otherPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "demo-1", Namespace: "ns", OwnerReferences: cnpg}}
	otherClaim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "demo-2-data", Namespace: "ns"}}
	f := newActorFixture(t, pgc, otherService, otherPod, otherClaim)

	err := f.c.createServices(f.ctx, pgc, &observation{services: map[string]*corev1.Service{}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Service demo-rw already exists and is not this cluster's (it has no owner")

	err = f.c.createMember(f.ctx, pgc, &observation{}, action{kind: actCreateMember, ordinal: 1, member: "demo-1",
		role: RolePrimary, bootstrap: BootstrapInitdb})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pod demo-1 already exists and is not this cluster's (it belongs to Cluster demo)")

	err = f.c.createMember(f.ctx, pgc, &observation{}, action{kind: actCreateMember, ordinal: 2, member: "demo-2",
		role: RolePrimary, bootstrap: BootstrapInitdb})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "volume claim demo-2-data already exists and is not this cluster's")
	_, err = f.kube.CoreV1().Pods("ns").Get(f.ctx, "demo-2", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no pod on another's volume: %v", err)
}

// The cluster's own objects, found by a create the cache was behind, are
// no error.
func TestOwnObjectsFoundByACreateAreNoError(t *testing.T) {
	pgc := testCluster(1)
	f := newActorFixture(t, pgc, buildServices(pgc)[0], buildPVC(pgc, "demo-1"))
	require.NoError(t, f.c.createServices(f.ctx, pgc, &observation{services: map[string]*corev1.Service{}}))
	require.NoError(t, f.c.createMember(f.ctx, pgc, &observation{}, action{kind: actCreateMember, ordinal: 1, member: "demo-1",
		role: RolePrimary, bootstrap: BootstrapInitdb}))
	_, err := f.kube.CoreV1().Pods("ns").Get(f.ctx, "demo-1", metav1.GetOptions{})
	assert.NoError(t, err)
}

// An object this cluster controls whose cluster label was removed by hand
// (kubectl label pod demo-2 postgres-operator.dev/cluster-) is out of the
// cache, not another's: the create that finds it puts the label back.
func TestOwnObjectsThatLostTheirLabelGetItBack(t *testing.T) {
	pgc := testCluster(2)
	pgc.UID = "demo-uid"
	pod := buildPod(pgc, memberPod{Name: "demo-2", Role: RoleReplica, Bootstrap: BootstrapClone, Image: testImage})
	delete(pod.Labels, ClusterLabel)
	pod.UID = "pod-uid"
	rw := buildServices(pgc)[0]
	delete(rw.Labels, ClusterLabel)
	f := newActorFixture(t, pgc, pod, rw, buildPVC(pgc, "demo-2"))

	require.NoError(t, f.c.createPod(f.ctx, pgc, action{kind: actRecreatePod, member: "demo-2", role: RoleReplica, bootstrap: BootstrapClone}))
	got, err := f.kube.CoreV1().Pods("ns").Get(f.ctx, "demo-2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "demo", got.Labels[ClusterLabel])
	assert.Equal(t, RoleReplica, got.Labels[RoleLabel], "its other labels stay")
	assert.Equal(t, types.UID("pod-uid"), got.UID, "the same pod, not a new one")

	require.NoError(t, f.c.createServices(f.ctx, pgc, &observation{services: map[string]*corev1.Service{}}))
	svc, err := f.kube.CoreV1().Services("ns").Get(f.ctx, "demo-rw", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "demo", svc.Labels[ClusterLabel])
}
