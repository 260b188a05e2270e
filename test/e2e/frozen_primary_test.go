//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// frozenHold is how long the test keeps the primary frozen once the
// operator says it waits for the kubelet: well past the self-fence
// deadline, which the operator used to promote at.
const frozenHold = 15 * time.Second

// A primary frozen whole (its pod's cgroup: a stalled VM or disk) on a node
// whose kubelet still answers. The operator fences it (deletes its pod),
// and the kubelet stops its self-fence probe on seeing the deletion, so
// nothing stops it until the kubelet's kill lands, which waits for the
// thaw. The operator must not promote past it at its lease's end: it says
// AwaitingKubelet and keeps the replica a replica for as long as the
// freeze lasts. Once thawed, the old primary dies of the kill that was
// waiting, the kubelet confirms, and the replica is promoted.
func TestFrozenPrimaryWaitsForTheKubelet(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "frozen")
	pw := createReadyCluster(t, f, ns, "fz", 2, "")
	primary, replicas := f.Roles(t, ns, "fz")
	require.Len(t, replicas, 1)
	replica := replicas[0]
	f.WaitStreaming(t, ns, primary, pw, replicas, time.Minute)
	oldPod := f.Pod(t, ns, primary)

	dir, err := f.FreezePod(postgresContainer(t, oldPod))
	require.NoError(t, err, "freezing %s", primary)
	t.Cleanup(func() { _ = framework.ThawPod(dir) }) // whatever happened, so the namespace can go

	c := waitAwaitingKubelet(t, f, ns, "fz", primary)
	t.Logf("the operator: %s", c.Message)
	require.Contains(t, c.Message, oldPod.Spec.NodeName)
	stillAReplica(t, f, ns, "fz", replica, pw, frozenHold)
	assertEvent(t, f, ns, "fz", "AwaitingKubelet", primary)

	require.NoError(t, framework.ThawPod(dir), "thawing %s", primary)
	waitNewPrimary(t, f, ns, "fz", primary)
	_, err = f.Kube.CoreV1().Pods(ns).Get(context.Background(), primary, metav1.GetOptions{})
	if err == nil {
		assert.NotEqual(t, oldPod.UID, f.Pod(t, ns, primary).UID, "the old primary's pod is gone once another member is promoted")
	} else {
		require.True(t, apierrors.IsNotFound(err), "reading %s: %v", primary, err)
	}
	f.WaitReady(t, ns, "fz", lifecycleReadyTimeout)
}

// waitAwaitingKubelet waits until the cluster says it waits for the
// frozen primary's kubelet, and fails at once if another member is
// labelled primary first: promoted past the frozen one.
func waitAwaitingKubelet(t *testing.T, f *framework.Framework, ns, cluster, frozen string) metav1.Condition {
	t.Helper()
	var c *metav1.Condition
	framework.Eventually(t, 2*time.Minute, cluster+" PrimaryAvailable=False (AwaitingKubelet)", func() (bool, error) {
		if p, err := f.PrimaryPod(ns, cluster); err == nil && p != frozen {
			framework.Fatalf(t, "%s promoted past the frozen primary %s, whose kubelet had not confirmed its end", p, frozen)
		}
		c = meta.FindStatusCondition(f.Cluster(t, ns, cluster).Status.Conditions, v1alpha1.ConditionPrimaryAvailable)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == "AwaitingKubelet",
			framework.Errorf("PrimaryAvailable: %+v", c)
	})
	return *c
}

// stillAReplica fails the test if, within hold, the replica leaves
// recovery or another member than the frozen one is labelled primary.
func stillAReplica(t *testing.T, f *framework.Framework, ns, cluster, replica, pw string, hold time.Duration) {
	t.Helper()
	for end := time.Now().Add(hold); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if p, err := f.PrimaryPod(ns, cluster); err == nil && p != "" {
			framework.Fatalf(t, "%s labelled primary while the old primary is frozen", p)
		}
		require.Equal(t, "t", f.Query(t, ns, replica, pw, "select pg_is_in_recovery()"),
			"%s promoted while the old primary is frozen", replica)
	}
}

// assertEvent checks the operator sent an Event with reason naming member.
func assertEvent(t *testing.T, f *framework.Framework, ns, cluster, reason, member string) {
	t.Helper()
	for _, m := range clusterEvents(t, f, ns, cluster, reason) {
		if strings.Contains(m, member) {
			return
		}
	}
	framework.Fatalf(t, "no %s Event names %s", reason, member)
}
