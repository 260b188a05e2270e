//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// Growing spec.storage.size asks the real API server to grow every claim.
// The local cluster's StorageClass does not allow expansion, as many do not:
// the refusal must reach the user as a Warning Event and in the Progressing
// condition, the cluster stays Ready, and the operator does not retry it.
func TestStorageGrowthRefusedByTheStorageClass(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "grow")
	createReadyCluster(t, f, ns, "grow", 1, "")

	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "grow", "--type", "merge", "-p", `{"spec":{"storage":{"size":"2Gi"}}}`)
	framework.Eventually(t, time.Minute, "a VolumeGrowthRefused Warning Event", func() (bool, error) {
		evs, err := f.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=VolumeGrowthRefused"})
		if err != nil || len(evs.Items) == 0 {
			return false, framework.Errorf("no such event yet (err %v)", err)
		}
		ev := evs.Items[0]
		ok := ev.Type == corev1.EventTypeWarning && strings.Contains(ev.Message, "volumes cannot grow to 2Gi")
		return ok, framework.Errorf("event %s: %s", ev.Type, ev.Message)
	})
	pgc := f.WaitReady(t, ns, "grow", time.Minute)
	c := meta.FindStatusCondition(pgc.Status.Conditions, v1alpha1.ConditionProgressing)
	if c == nil || !strings.Contains(c.Message, "volumes cannot grow to 2Gi") {
		framework.Fatalf(t, "Progressing condition does not tell about the refusal: %+v", c)
	}
	claim, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "grow-1-data", metav1.GetOptions{})
	if err != nil {
		framework.Fatalf(t, "reading the claim: %v", err)
	}
	if q := claim.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "1Gi" {
		framework.Fatalf(t, "the claim asks for %s; the API should have refused the growth", q.String())
	}
}
