//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	discoveryv1 "k8s.io/api/discovery/v1"
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
		slots, err := f.ListSlots(ns, primary, pw)
		return slices.Equal(slots, []string{"reclone_3"}), framework.Errorf("slots: %v, err %v", slots, err)
	})
}

// A primary whose volume claim is deleted by mistake (only the claim: its
// pod keeps it, Terminating, until the pod stops) is switched away from
// while no write has to be lost; it is then replaced by a new member with
// the next ordinal, and every row is on both members.
func TestLifecyclePrimaryVolumeDeleted(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "lc-primarypvc")
	pw := createReadyCluster(t, f, ns, "pvol", 2, "")
	writeRows(t, f, ns, "pvol-1", pw, 300)
	waitRows(t, f, ns, "pvol-2", pw, 300)

	f.KubectlOK(t, "", "-n", ns, "delete", "pvc", "pvol-1-data", "--wait=false")
	framework.Eventually(t, time.Minute, "pvol-2 labelled primary", func() (bool, error) {
		p, err := f.PrimaryPod(ns, "pvol")
		return err == nil && p == "pvol-2", framework.Errorf("primary %q, err %v", p, err)
	})
	msgs := clusterEvents(t, f, ns, "pvol", "Switchover")
	require.True(t, slices.ContainsFunc(msgs, func(m string) bool {
		return strings.Contains(m, "volume claim pvol-1-data is being deleted") && strings.Contains(m, "switching over to pvol-2 first")
	}), "a Switchover Event naming the deleted claim; got %q", msgs)
	waitMemberGone(t, f, ns, "pvol-1")
	f.WaitReady(t, ns, "pvol", lifecycleReadyTimeout)

	primary, replicas := f.Roles(t, ns, "pvol")
	require.Equal(t, "pvol-2", primary)
	require.Equal(t, []string{"pvol-3"}, replicas, "replaced by a new ordinal")
	assert.Equal(t, 300, rowCount(t, f, ns, primary, pw), "no write lost")
	f.WaitStreaming(t, ns, primary, pw, replicas, time.Minute)
	waitRows(t, f, ns, "pvol-3", pw, 300)
}

func claimUID(t *testing.T, f *framework.Framework, ns, name string) string {
	t.Helper()
	pvc, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return string(pvc.UID)
}

// A replica is Ready, and behind the -ro Service, only while it streams:
// when the primary refuses its replication connection the replica leaves
// -ro, and it comes back once it streams again.
func TestLifecycleReplicaReadyOnlyWhileStreaming(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "lc-streaming")
	pw := createReadyCluster(t, f, ns, "stream", 2, "")
	f.WaitStreaming(t, ns, "stream-1", pw, []string{"stream-2"}, time.Minute)
	uid := f.Pod(t, ns, "stream-2").UID
	waitReadyInRO(t, f, ns, "stream-2", true)

	// The replica keeps running and answering queries, but cannot stream.
	f.Query(t, ns, "stream-1", pw, "alter role replicator nologin")
	f.Query(t, ns, "stream-1", pw, "select pg_terminate_backend(pid) from pg_stat_replication")
	waitReadyInRO(t, f, ns, "stream-2", false)
	requireStandby(t, f, ns, "stream-2", pw)

	f.Query(t, ns, "stream-1", pw, "alter role replicator login")
	waitReadyInRO(t, f, ns, "stream-2", true)
	f.WaitStreaming(t, ns, "stream-1", pw, []string{"stream-2"}, time.Minute)
	f.WaitReady(t, ns, "stream", time.Minute)
	assert.Equal(t, uid, f.Pod(t, ns, "stream-2").UID, "the same pod came back: nothing was replaced")
}

// waitReadyInRO waits until a member's pod readiness, and its presence as a
// ready endpoint of the -ro Service, are as wanted.
func waitReadyInRO(t *testing.T, f *framework.Framework, ns, member string, want bool) {
	t.Helper()
	cluster := member[:strings.LastIndexByte(member, '-')]
	framework.Eventually(t, 30*time.Second, fmt.Sprintf("%s ready and in -ro: %v", member, want), func() (bool, error) {
		p, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), member, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		eps, err := f.Kube.DiscoveryV1().EndpointSlices(ns).List(context.Background(),
			metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + cluster + "-ro"})
		if err != nil {
			return false, err
		}
		inRO := false
		for _, s := range eps.Items {
			for _, e := range s.Endpoints {
				if e.TargetRef != nil && e.TargetRef.Name == member && e.Conditions.Ready != nil && *e.Conditions.Ready {
					inRO = true
				}
			}
		}
		ready := framework.PodReady(p)
		return ready == want && inRO == want, framework.Errorf("pod ready %v, ready in -ro %v", ready, inRO)
	})
}
