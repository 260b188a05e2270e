//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// A single-member cluster grown to 3 by `kubectl replace`: both new
// replicas are cloned with the rows written before and stream from the
// primary.
func TestLifecycleGrowByReplace(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "lc-grow")
	pw := createReadyCluster(t, f, ns, "grow", 1, "")
	writeRows(t, f, ns, "grow-1", pw, 1000)

	f.KubectlOK(t, framework.ClusterYAML("grow", 3, ""), "-n", ns, "replace", "-f", "-")
	pgc := f.WaitReady(t, ns, "grow", lifecycleReadyTimeout)
	assert.Equal(t, int32(3), pgc.Status.Size)

	primary, replicas := f.Roles(t, ns, "grow")
	require.Equal(t, "grow-1", primary, "growing does not move the primary")
	require.Equal(t, []string{"grow-2", "grow-3"}, replicas)
	for _, r := range replicas {
		requireStandby(t, f, ns, r, pw)
		waitRows(t, f, ns, r, pw, 1000)
	}
	f.WaitStreaming(t, ns, primary, pw, replicas, time.Minute)
}

// Deleting a cluster deletes its pods, Services, Secrets and volumes; a
// cluster with storage.retainOnDelete keeps its volumes, and only them.
func TestLifecycleDeleteCluster(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "lc-delete")
	createReadyCluster(t, f, ns, "gone", 2, "")
	createReadyCluster(t, f, ns, "kept", 1, "    retainOnDelete: true\n")
	keptPVC, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "kept-1-data", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, keptPVC.OwnerReferences, "a retained volume has no owner to be collected with")
	require.Len(t, childNames(t, f, ns, "gone")["pvc"], 2)

	f.KubectlOK(t, "", "-n", ns, "delete", "pgc", "gone", "kept")
	framework.Eventually(t, 2*time.Minute, "every child of gone deleted", func() (bool, error) {
		left := childNames(t, f, ns, "gone")
		return len(left) == 0, framework.Errorf("left: %v", left)
	})
	framework.Eventually(t, 2*time.Minute, "kept's pods, Services and Secrets deleted", func() (bool, error) {
		left := childNames(t, f, ns, "kept")
		delete(left, "pvc")
		return len(left) == 0, framework.Errorf("left: %v", left)
	})
	pvc, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "kept-1-data", metav1.GetOptions{})
	require.NoError(t, err, "the retained volume is still there")
	assert.Equal(t, keptPVC.UID, pvc.UID, "the same claim, not a new one")
	assert.Nil(t, pvc.DeletionTimestamp, "the retained volume is not being deleted")
}

// childNames lists, by kind, the objects carrying the cluster's label.
func childNames(t *testing.T, f *framework.Framework, ns, cluster string) map[string][]string {
	t.Helper()
	ctx, opts := context.Background(), metav1.ListOptions{LabelSelector: framework.ClusterLabel + "=" + cluster}
	out := map[string][]string{}
	pods, err := f.Kube.CoreV1().Pods(ns).List(ctx, opts)
	require.NoError(t, err)
	for _, o := range pods.Items {
		out["pod"] = append(out["pod"], o.Name)
	}
	svcs, err := f.Kube.CoreV1().Services(ns).List(ctx, opts)
	require.NoError(t, err)
	for _, o := range svcs.Items {
		out["service"] = append(out["service"], o.Name)
	}
	secrets, err := f.Kube.CoreV1().Secrets(ns).List(ctx, opts)
	require.NoError(t, err)
	for _, o := range secrets.Items {
		out["secret"] = append(out["secret"], o.Name)
	}
	pvcs, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, opts)
	require.NoError(t, err)
	for _, o := range pvcs.Items {
		out["pvc"] = append(out["pvc"], o.Name)
	}
	return out
}

// `kubectl get pgc` shows the printer columns and `kubectl describe pgc`
// shows conditions and Events in sentences a user can act on, including a
// Warning for a request the operator refused.
func TestLifecycleDescribeAndGet(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "lc-describe")
	createReadyCluster(t, f, ns, "desc", 2, "")

	get := f.KubectlOK(t, "", "-n", ns, "get", "pgc", "desc")
	assert.Regexp(t, `(?m)^NAME\s+SIZE\s+READY\s+PRIMARY\s+PHASE\s+AGE\s*$`, get)
	assert.Regexp(t, `(?m)^desc\s+2\s+2\s+desc-1\s+Running\s+\d+[sm]\s*$`, get)

	desc := f.KubectlOK(t, "", "-n", ns, "describe", "pgc", "desc")
	for _, want := range []string{
		`Type:\s+Ready\b`, `Reason:\s+AllMembersReady`, `Message:\s+2/2 members ready`,
		`Type:\s+PrimaryAvailable`, `Message:\s+desc-1 accepts writes`,
		`Type:\s+Progressing`, `Reason:\s+Converged`,
		`Normal\s+CreateMember\s+.*creating the seed member, which runs initdb`,
		`Normal\s+CreateMember\s+.*scaling up to 2: adding replica desc-2`,
	} {
		assert.Regexp(t, regexp.MustCompile(want), desc)
	}

	// A switchover to a member that does not exist is refused with a
	// Warning that says why.
	f.KubectlOK(t, "", "-n", ns, "annotate", "pgc", "desc", "postgres-operator.dev/switchover=desc-9")
	framework.Eventually(t, time.Minute, "the refusal in describe", func() (bool, error) {
		d := f.KubectlOK(t, "", "-n", ns, "describe", "pgc", "desc")
		ok := regexp.MustCompile(`Warning\s+SwitchoverRefused\s+.*switchover to "desc-9" refused`).MatchString(d)
		return ok, framework.Errorf("events: %s", d[max(strings.LastIndex(d, "Events:"), 0):])
	})
	pgc := f.WaitReady(t, ns, "desc", time.Minute)
	assert.Equal(t, "desc-1", pgc.Status.Primary, "a refused switchover changes nothing")
}
