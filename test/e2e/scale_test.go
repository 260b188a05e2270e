//go:build e2e

package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// `kubectl scale` 3 → 2 → 3: scaling down removes the highest-ordinal
// replica with its volume and its slot on the primary; scaling up adds a
// new ordinal (never reusing the removed one) that clones and streams.
func TestScaleDownAndUp(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "scale")
	pw := createReadyCluster(t, f, ns, "scale", 3, "")
	primary, replicas := f.Roles(t, ns, "scale")
	require.Equal(t, []string{"scale-2", "scale-3"}, replicas)
	assert.Equal(t, []string{"scale_2", "scale_3"}, f.Slots(t, ns, primary, pw))
	writeRows(t, f, ns, primary, pw, 500)

	f.KubectlOK(t, "", "-n", ns, "scale", "pgc/scale", "--replicas=2")
	pgc := f.WaitReady(t, ns, "scale", lifecycleReadyTimeout)
	assert.Equal(t, int32(2), pgc.Status.Size)
	waitMemberGone(t, f, ns, "scale-3")
	_, replicas = f.Roles(t, ns, "scale")
	assert.Equal(t, []string{"scale-2"}, replicas)
	framework.Eventually(t, time.Minute, "scale-3's slot dropped", func() (bool, error) {
		slots, err := f.ListSlots(ns, primary, pw)
		return slices.Equal(slots, []string{"scale_2"}), framework.Errorf("slots: %v, err %v", slots, err)
	})

	f.KubectlOK(t, "", "-n", ns, "scale", "pgc/scale", "--replicas=3")
	pgc = f.WaitReady(t, ns, "scale", lifecycleReadyTimeout)
	assert.Equal(t, int32(4), pgc.Status.LastOrdinal)
	_, replicas = f.Roles(t, ns, "scale")
	require.Equal(t, []string{"scale-2", "scale-4"}, replicas, "a new ordinal, never scale-3 again")
	assert.Equal(t, []string{"scale_2", "scale_4"}, f.Slots(t, ns, primary, pw))
	f.WaitStreaming(t, ns, primary, pw, replicas, time.Minute)
	waitRows(t, f, ns, "scale-4", pw, 500)
	assert.Contains(t, f.PodLog(t, ns, "scale-4"), "cloning from scale-rw")
}

// waitMemberGone waits until a member's pod and volume claim no longer exist.
func waitMemberGone(t *testing.T, f *framework.Framework, ns, member string) {
	t.Helper()
	framework.Eventually(t, time.Minute, member+"'s pod and volume deleted", func() (bool, error) {
		ctx := context.Background()
		_, podErr := f.Kube.CoreV1().Pods(ns).Get(ctx, member, metav1.GetOptions{})
		_, pvcErr := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, member+"-data", metav1.GetOptions{})
		return apierrors.IsNotFound(podErr) && apierrors.IsNotFound(pvcErr), framework.Errorf("pod: %v, pvc: %v", podErr, pvcErr)
	})
}
