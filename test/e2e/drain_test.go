//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// Every cluster gets two PodDisruptionBudgets: its replicas may be evicted
// one at a time, its primary not at all (a drain waits for the operator's
// switchover). A cordoned primary's node with no replica on another
// schedulable node (the local cluster has one node) is reported, and the
// primary stays: a switchover there would gain nothing.
func TestDrainBudgetAndCordonedPrimary(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "drain")
	createReadyCluster(t, f, ns, "dr", 2, "")
	primary, _ := f.Roles(t, ns, "dr")

	for name, allowed := range map[string]int32{"dr": 1, "dr-primary": 0} {
		framework.Eventually(t, time.Minute, "budget "+name+" allows its disruptions", func() (bool, error) {
			pdb, err := f.Kube.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			ok := pdb.Status.ExpectedPods == 1 && pdb.Status.DisruptionsAllowed == allowed &&
				len(pdb.OwnerReferences) == 1 && pdb.OwnerReferences[0].Name == "dr"
			return ok, framework.Errorf("expected pods %d, allowed %d (want 1, %d), owners %v",
				pdb.Status.ExpectedPods, pdb.Status.DisruptionsAllowed, allowed, pdb.OwnerReferences)
		})
	}
	err := f.Kube.PolicyV1().Evictions(ns).Evict(context.Background(), &policyv1.Eviction{
		ObjectMeta: metav1.ObjectMeta{Name: primary, Namespace: ns}})
	require.True(t, apierrors.IsTooManyRequests(err), "the primary cannot be evicted: %v", err)

	node := f.Pod(t, ns, primary).Spec.NodeName
	require.NotEmpty(t, node)
	t.Cleanup(func() { f.Run("", "uncordon", node) })
	f.KubectlOK(t, "", "cordon", node)
	framework.Eventually(t, time.Minute, "the cordoned primary reported", func() (bool, error) {
		c := meta.FindStatusCondition(f.Cluster(t, ns, "dr").Status.Conditions, v1alpha1.ConditionDegraded)
		return c != nil && c.Reason == "PrimaryNodeCordoned", framework.Errorf("Degraded: %+v", c)
	})
	assert.Len(t, clusterEvents(t, f, ns, "dr", "PrimaryNodeCordoned"), 1, "said once")
	assert.Equal(t, primary, f.Cluster(t, ns, "dr").Status.Primary, "no switchover to a replica on the same node")

	f.KubectlOK(t, "", "uncordon", node)
	framework.Eventually(t, time.Minute, "Degraded clears", func() (bool, error) {
		c := meta.FindStatusCondition(f.Cluster(t, ns, "dr").Status.Conditions, v1alpha1.ConditionDegraded)
		return c != nil && c.Status == metav1.ConditionFalse, framework.Errorf("Degraded: %+v", c)
	})
}
