package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func grownTo(size string) func(*v1alpha1.PostgresCluster) {
	return func(p *v1alpha1.PostgresCluster) { p.Spec.Storage.Size = resource.MustParse(size) }
}

func TestPlanGrowsOneVolumeAtATime(t *testing.T) {
	small := testCluster(2, initialized("demo-1", 2))
	big := testCluster(2, initialized("demo-1", 2), grownTo("5Gi"))
	// Members built from the small spec carry its claim size.
	members := func() []*member {
		return []*member{testMember(small, 1, up(RolePrimary)), testMember(small, 2, up(RoleReplica))}
	}

	got := plan(input(big, obsOf(big, members()...)))
	assert.Equal(t, actGrowVolume, got.kind, got.reason)
	assert.Equal(t, "demo-1", got.member)

	same := plan(input(small, obsOf(small, members()...)))
	assert.Equal(t, actNone, same.kind, "a claim already at the spec's size is left alone: %s", same.reason)

	refused := input(big, obsOf(big, members()...))
	refused.growthRefused = "volumes cannot grow to 5Gi: the storage class does not allow it"
	got = plan(refused)
	assert.Equal(t, actNone, got.kind, "a refused growth is not retried: %s", got.reason)
	assert.Contains(t, got.reason, "volumes cannot grow to 5Gi")
}

func TestGrowVolumePatchesTheClaim(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1), grownTo("3Gi"))
	claim := buildPVC(testCluster(1), "demo-1")
	f := newActorFixture(t, pgc, claim)

	require.NoError(t, f.c.growVolume(f.ctx, pgc, action{kind: actGrowVolume, member: "demo-1"}))
	got, err := f.kube.CoreV1().PersistentVolumeClaims(pgc.Namespace).Get(f.ctx, "demo-1-data", metav1.GetOptions{})
	require.NoError(t, err)
	q := got.Spec.Resources.Requests[corev1.ResourceStorage]
	assert.Equal(t, "3Gi", q.String())
	assert.Empty(t, f.c.growthRefused.refusalFor(pgc))
}

func TestGrowVolumeRefusedIsReportedOnceNotRetried(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1), grownTo("3Gi"))
	f := newActorFixture(t, pgc, buildPVC(testCluster(1), "demo-1"))
	events := record.NewFakeRecorder(10)
	f.c.cfg.Recorder = events
	f.kube.PrependReactor("patch", "persistentvolumeclaims", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "persistentvolumeclaims"}, "demo-1-data",
			errString("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"))
	})

	require.NoError(t, f.c.growVolume(f.ctx, pgc, action{kind: actGrowVolume, member: "demo-1"}), "a refusal is not a failing pass")
	assert.Contains(t, f.c.growthRefused.refusalFor(pgc), "must support resize")
	require.Len(t, events.Events, 1)
	assert.Contains(t, <-events.Events, "Warning VolumeGrowthRefused volumes cannot grow to 3Gi")
	assert.Empty(t, f.c.growthRefused.refusalFor(testCluster(1, grownTo("4Gi"))), "a new size is tried again")
}

type errString string

func (e errString) Error() string { return string(e) }
