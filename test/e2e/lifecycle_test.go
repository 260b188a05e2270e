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
	children, err := childNames(f, ns, "gone")
	require.NoError(t, err)
	require.Len(t, children["pvc"], 2)

	f.KubectlOK(t, "", "-n", ns, "delete", "pgc", "gone", "kept")
	framework.Eventually(t, 2*time.Minute, "every child of gone deleted", func() (bool, error) {
		left, err := childNames(f, ns, "gone")
		return err == nil && len(left) == 0, framework.Errorf("left: %v, err %v", left, err)
	})
	framework.Eventually(t, 2*time.Minute, "kept's pods, Services and Secrets deleted", func() (bool, error) {
		left, err := childNames(f, ns, "kept")
		delete(left, "pvc")
		return err == nil && len(left) == 0, framework.Errorf("left: %v, err %v", left, err)
	})
	pvc, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "kept-1-data", metav1.GetOptions{})
	require.NoError(t, err, "the retained volume is still there")
	assert.Equal(t, keptPVC.UID, pvc.UID, "the same claim, not a new one")
	assert.Nil(t, pvc.DeletionTimestamp, "the retained volume is not being deleted")
}

// retainOnDelete turned on after creation is honoured at once: the claims
// lose their owner, so deleting the cluster keeps the data; turned off
// again, they get it back.
func TestLifecycleRetainTurnedOnLater(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "lc-retain")
	createReadyCluster(t, f, ns, "late", 2, "")
	owned := func(want bool) func() (bool, error) {
		return func() (bool, error) {
			list, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).List(context.Background(),
				metav1.ListOptions{LabelSelector: framework.ClusterLabel + "=late"})
			if err != nil || len(list.Items) != 2 {
				return false, framework.Errorf("claims %d, err %v", len(list.Items), err)
			}
			for _, c := range list.Items {
				if (len(c.OwnerReferences) > 0) != want {
					return false, framework.Errorf("%s owner references: %v", c.Name, c.OwnerReferences)
				}
			}
			return true, nil
		}
	}
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "late", "--type=merge", "-p", `{"spec":{"storage":{"retainOnDelete":true}}}`)
	framework.Eventually(t, time.Minute, "every claim without an owner", owned(false))
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "late", "--type=merge", "-p", `{"spec":{"storage":{"retainOnDelete":false}}}`)
	framework.Eventually(t, time.Minute, "every claim owned again", owned(true))
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "late", "--type=merge", "-p", `{"spec":{"storage":{"retainOnDelete":true}}}`)
	framework.Eventually(t, time.Minute, "every claim without an owner again", owned(false))

	f.KubectlOK(t, "", "-n", ns, "delete", "pgc", "late")
	framework.Eventually(t, 2*time.Minute, "the pods gone", func() (bool, error) {
		left, err := childNames(f, ns, "late")
		return err == nil && len(left["pod"]) == 0, framework.Errorf("left: %v, err %v", left, err)
	})
	left, err := childNames(f, ns, "late")
	require.NoError(t, err)
	assert.Len(t, left["pvc"], 2, "both volumes kept")
}

// childNames lists, by kind, the objects carrying the cluster's label. It
// returns an error rather than failing, for polling loops.
func childNames(f *framework.Framework, ns, cluster string) (map[string][]string, error) {
	ctx, opts := context.Background(), metav1.ListOptions{LabelSelector: framework.ClusterLabel + "=" + cluster}
	core := f.Kube.CoreV1()
	out := map[string][]string{}
	pods, err := core.Pods(ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range pods.Items {
		out["pod"] = append(out["pod"], o.Name)
	}
	svcs, err := core.Services(ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range svcs.Items {
		out["service"] = append(out["service"], o.Name)
	}
	secrets, err := core.Secrets(ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range secrets.Items {
		out["secret"] = append(out["secret"], o.Name)
	}
	pvcs, err := core.PersistentVolumeClaims(ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range pvcs.Items {
		out["pvc"] = append(out["pvc"], o.Name)
	}
	return out, nil
}

// `kubectl get pgc` shows the printer columns and `kubectl describe pgc`
// shows conditions and Events in sentences a user can act on, including a
// Warning for a request the operator refused.
func TestLifecycleDescribeAndGet(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "lc-describe")
	createReadyCluster(t, f, ns, "desc", 2, "")

	get := f.KubectlOK(t, "", "-n", ns, "get", "pgc", "desc")
	assert.Regexp(t, `(?m)^NAME\s+SIZE\s+READY\s+PRIMARY\s+PHASE\s+LAST BACKUP\s+AGE\s*$`, get)
	assert.Regexp(t, `(?m)^desc\s+2\s+2\s+desc-1\s+Running\s+\d+[smh]\S*\s*$`, get)

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
	refused := regexp.MustCompile(`Warning\s+SwitchoverRefused\s+.*switchover to "desc-9" refused`)
	framework.Eventually(t, time.Minute, "the refusal in describe", func() (bool, error) {
		r := f.Run("", "-n", ns, "describe", "pgc", "desc")
		d := r.Stdout
		return r.Err == nil && refused.MatchString(d), framework.Errorf("err %v, events: %s", r.Err, d[max(strings.LastIndex(d, "Events:"), 0):])
	})
	pgc := f.WaitReady(t, ns, "desc", time.Minute)
	assert.Equal(t, "desc-1", pgc.Status.Primary, "a refused switchover changes nothing")
}
