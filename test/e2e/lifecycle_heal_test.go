//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// cloneMarker is what member.sh logs when it fills an empty volume with
// pg_basebackup, and only then.
const cloneMarker = "cloning from"

// A deleted replica pod comes back on its own volume without a re-clone:
// the same claim (UID), no clone in the new pod's log, streaming again and
// following new writes.
func TestLifecycleReplicaPodDeleted(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "lc-podgone")
	pw := createReadyCluster(t, f, ns, "heal", 2, "")
	writeRows(t, f, ns, "heal-1", pw, 300)
	waitRows(t, f, ns, "heal-2", pw, 300)
	// The first pod did clone: the marker the next check relies on is real.
	require.Contains(t, f.PodLog(t, ns, "heal-2"), cloneMarker)
	oldPod := f.Pod(t, ns, "heal-2")
	oldPVC := claimUID(t, f, ns, "heal-2-data")

	f.KubectlOK(t, "", "-n", ns, "delete", "pod", "heal-2")
	framework.Eventually(t, time.Minute, "a new heal-2 pod", func() (bool, error) {
		p, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), "heal-2", metav1.GetOptions{})
		return err == nil && p.UID != oldPod.UID, framework.Errorf("err %v", err)
	})
	f.WaitReady(t, ns, "heal", lifecycleReadyTimeout)
	assert.Equal(t, oldPVC, claimUID(t, f, ns, "heal-2-data"), "the same volume claim")
	log := f.PodLog(t, ns, "heal-2")
	assert.NotContains(t, log, cloneMarker, "the member resumed from its volume without a re-clone")
	assert.Contains(t, log, "starting postgres as replica")
	requireStandby(t, f, ns, "heal-2", pw)
	f.WaitStreaming(t, ns, "heal-1", pw, []string{"heal-2"}, time.Minute)
	f.Query(t, ns, "heal-1", pw, "insert into lifecycle values (301, 'after the restart')")
	waitRows(t, f, ns, "heal-2", pw, 301)
}

// A replica that loses its volume (claim and pod deleted) is replaced by a
// new member, with the next ordinal, that re-clones, streams and has the
// rows; the lost member's slot is dropped.
func TestLifecycleReplicaVolumeDeleted(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "lc-pvcgone")
	pw := createReadyCluster(t, f, ns, "reclone", 2, "")
	writeRows(t, f, ns, "reclone-1", pw, 300)
	waitRows(t, f, ns, "reclone-2", pw, 300)

	// The claim stays Terminating until its pod is gone (pvc-protection),
	// so neither delete waits.
	f.KubectlOK(t, "", "-n", ns, "delete", "pvc", "reclone-2-data", "--wait=false")
	f.KubectlOK(t, "", "-n", ns, "delete", "pod", "reclone-2", "--wait=false")
	waitMemberGone(t, f, ns, "reclone-2")
	f.WaitReady(t, ns, "reclone", lifecycleReadyTimeout)

	primary, replicas := f.Roles(t, ns, "reclone")
	require.Equal(t, "reclone-1", primary)
	require.Equal(t, []string{"reclone-3"}, replicas, "replaced by a new ordinal")
	assert.Contains(t, f.PodLog(t, ns, "reclone-3"), cloneMarker+" reclone-rw", "the new member cloned")
	requireStandby(t, f, ns, "reclone-3", pw)
	f.WaitStreaming(t, ns, primary, pw, replicas, time.Minute)
	waitRows(t, f, ns, "reclone-3", pw, 300)
	framework.Eventually(t, time.Minute, "only reclone-3's slot", func() (bool, error) {
		slots := f.Slots(t, ns, primary, pw)
		return len(slots) == 1 && slots[0] == "reclone_3", framework.Errorf("slots: %v", slots)
	})
}

func claimUID(t *testing.T, f *framework.Framework, ns, name string) string {
	t.Helper()
	pvc, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return string(pvc.UID)
}
