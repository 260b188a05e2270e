package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A -rw Service edited by hand (its selector widened to every member, and
// no longer publishing not-ready addresses) is put back with a Warning
// Event; what the user may change (the type, an annotation) stays.
func TestEditedServiceIsRestored(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)))
	w.settle()
	rec := recordEvents(w)
	services := w.kube.CoreV1().Services("ns")
	svc, err := services.Get(w.ctx, "demo-rw", metav1.GetOptions{})
	require.NoError(t, err)
	svc.Spec.Selector = map[string]string{ClusterLabel: "demo"}
	svc.Spec.PublishNotReadyAddresses = false
	svc.Spec.Type = corev1.ServiceTypeNodePort
	svc.Annotations = map[string]string{"team": "db"}
	_, err = services.Update(w.ctx, svc, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		s, err := w.c.cfg.Listers.Services.Services("ns").Get("demo-rw")
		return err == nil && !s.Spec.PublishNotReadyAddresses
	}, 5*time.Second, 5*time.Millisecond)

	w.pass()
	got, err := services.Get(w.ctx, "demo-rw", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{ClusterLabel: "demo", RoleLabel: RolePrimary}, got.Spec.Selector)
	assert.True(t, got.Spec.PublishNotReadyAddresses)
	assert.Equal(t, corev1.ServiceTypeNodePort, got.Spec.Type, "the type is the user's")
	assert.Equal(t, "db", got.Annotations["team"])
	assert.Equal(t, 1, warnings(rec, string(actRepairService)))
}
