//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// A paused cluster gets a Paused condition and no member until unpaused.
func TestPausedClusterWaits(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "paused")
	f.KubectlOK(t, `
apiVersion: postgres-operator.dev/v1alpha1
kind: PostgresCluster
metadata: {name: held}
spec: {size: 1, postgresVersion: 15, superuserAccess: true, storage: {size: 1Gi}, paused: true}
`, "-n", ns, "apply", "-f", "-")
	framework.Eventually(t, time.Minute, "Paused condition", func() (bool, error) {
		pgc := f.Cluster(t, ns, "held")
		return meta.IsStatusConditionTrue(pgc.Status.Conditions, v1alpha1.ConditionPaused) && pgc.Status.Phase == v1alpha1.PhasePaused, nil
	})
	pods, err := f.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, pods.Items, "a paused cluster creates nothing")

	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "held", "--type=merge", "-p", `{"spec":{"paused":false}}`)
	pgc := f.WaitReady(t, ns, "held", 2*time.Minute)
	assert.Nil(t, meta.FindStatusCondition(pgc.Status.Conditions, v1alpha1.ConditionPaused))
}
