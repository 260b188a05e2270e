//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// divergedRows is how many rows of 1 kB the primary writes while one
// replica receives nothing: about 45 MB of WAL, far more than the TCP
// buffers that the stopped receiver still drains once it runs again.
const divergedRows = 40000

// An async failover past a stalled replica leaves that replica with WAL
// the new primary never had. Here the primary dies while the replica that
// holds its last writes is frozen (paused container), and the other
// replica, whose WAL receiver was stopped, is promoted behind it. What the
// operator saw the frozen replica replay before the freeze proves it
// diverged: it is labelled diverged (a Warning Event says why) while still
// frozen. Once it runs again its receiver reads what the kernel buffered
// from the dead old primary, and then re-streams its old timeline from the
// new primary up to the fork, reading "streaming" much of the time: -ro
// must never route to it (nor to a pod that replaces it on the same
// volume: in one run the kubelet killed the thawed container minutes
// later), and it is re-cloned with the proof; the cluster then has three
// members with the new primary's rows.
//
// Opt-in (E2E_DIVERGED=1) to keep the default suite's time: it takes
// about three minutes.
func TestDivergedReplicaIsRecloned(t *testing.T) {
	if os.Getenv("E2E_DIVERGED") == "" {
		t.Skip("opt-in: E2E_DIVERGED=1 (about three minutes)")
	}
	f := setup(t)
	ns := f.Namespace(t, "diverged")
	pw := createReadyCluster(t, f, ns, "dv", 3, "")
	primary, replicas := f.Roles(t, ns, "dv")
	require.Len(t, replicas, 2)
	ahead, behind := replicas[0], replicas[1]
	writeRows(t, f, ns, primary, pw, 100)
	f.WaitStreaming(t, ns, primary, pw, replicas, time.Minute)

	receiver := stopReceiver(t, f, ns, behind)
	f.Query(t, ns, primary, pw, fmt.Sprintf(
		"insert into lifecycle select g, repeat('x', 1000) from generate_series(101, %d) g", 100+divergedRows))
	last := f.Query(t, ns, primary, pw, "select pg_current_wal_lsn()")
	f.WaitQuery(t, ns, ahead, pw, fmt.Sprintf("select pg_last_wal_replay_lsn() >= '%s'", last), "t", time.Minute)
	waitOperatorProbed(t, f, ns, ahead, pw)

	aheadPod := f.Pod(t, ns, ahead)
	pauseMember(t, f, aheadPod)
	require.NoError(t, f.KillContainer(postgresContainer(t, f.Pod(t, ns, primary))), "killing the primary's container")
	require.NoError(t, framework.ContinueProcess(receiver), "the WAL receiver of %s runs again", behind)

	framework.Eventually(t, time.Minute, behind+" promoted and labelled primary", func() (bool, error) {
		p, err := f.PrimaryPod(ns, "dv")
		return err == nil && p == behind, framework.Errorf("primary %q, err %v", p, err)
	})
	promoted := rowCount(t, f, ns, behind, pw)
	require.Less(t, promoted, 100+divergedRows, "%s must have been promoted behind %s: no divergence was built", behind, ahead)
	t.Logf("%s promoted with %d of %d rows", behind, promoted, 100+divergedRows)
	waitLabelledDiverged(t, f, ns, aheadPod)
	require.NoError(t, f.ResumeContainer(postgresContainer(t, aheadPod)), "thawing %s", ahead)

	neverInROUntilRecloned(t, f, ns, ahead, 6*time.Minute)
	assertRecloneEvent(t, f, ns, ahead)
	waitMemberGone(t, f, ns, ahead)
	f.WaitReady(t, ns, "dv", lifecycleReadyTimeout)
	_, now := f.Roles(t, ns, "dv")
	require.Len(t, now, 2, "two replicas again")
	require.NotContains(t, now, ahead, "the diverged member was replaced by a fresh clone")
	f.WaitStreaming(t, ns, behind, pw, now, time.Minute)
	for _, r := range now {
		waitRows(t, f, ns, r, pw, promoted)
	}
}

// waitOperatorProbed waits until the operator's probe, which reads the
// replay position with the receiver's timeline, has run on the member
// since the test's last step there: the operator has then seen where
// it replayed to on the old timeline, before the freeze.
func waitOperatorProbed(t *testing.T, f *framework.Framework, ns, member, pw string) {
	t.Helper()
	since := f.Query(t, ns, member, pw, "select clock_timestamp()")
	f.WaitQuery(t, ns, member, pw, fmt.Sprintf("select count(*) > 0 from pg_stat_activity where application_name = 'postgres-operator' "+
		"and query like '%%received_tli%%' and query_start > '%s'", since), "t", time.Minute)
}

// stopReceiver stops a replica's WAL receiver until the test continues it
// (or ends).
func stopReceiver(t *testing.T, f *framework.Framework, ns, member string) int {
	t.Helper()
	pid, err := f.StopWALReceiver(postgresContainer(t, f.Pod(t, ns, member)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = framework.ContinueProcess(pid) })
	return pid
}

// pauseMember freezes a member's container; a frozen container is thawed
// when the test ends, whatever happened, so its namespace can go.
func pauseMember(t *testing.T, f *framework.Framework, pod *corev1.Pod) {
	t.Helper()
	cid := postgresContainer(t, pod)
	require.NoError(t, f.PauseContainer(cid), "freezing %s", pod.Name)
	t.Cleanup(func() { _ = f.ResumeContainer(cid) })
}

// postgresContainer is the containerd ID of a member pod's running
// PostgreSQL container.
func postgresContainer(t *testing.T, pod *corev1.Pod) string {
	t.Helper()
	cid, err := framework.ContainerID(pod, "postgres")
	require.NoError(t, err)
	return cid
}

func rowCount(t *testing.T, f *framework.Framework, ns, member, pw string) int {
	t.Helper()
	n, err := strconv.Atoi(f.Query(t, ns, member, pw, "select count(*) from lifecycle"))
	require.NoError(t, err)
	return n
}

// waitLabelledDiverged waits until the operator has labelled the frozen
// member diverged, and checks its Warning Event names the proof.
func waitLabelledDiverged(t *testing.T, f *framework.Framework, ns string, pod *corev1.Pod) {
	t.Helper()
	framework.Eventually(t, 30*time.Second, pod.Name+" labelled diverged", func() (bool, error) {
		p, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		role := p.Labels["postgres-operator.dev/role"]
		return role == "diverged", framework.Errorf("role %q", role)
	})
	msgs := clusterEvents(t, f, ns, "dv", "LabelDiverged")
	require.True(t, slices.ContainsFunc(msgs, func(m string) bool {
		return strings.Contains(m, "replica "+pod.Name+" holds WAL the primary") && strings.Contains(m, "its history diverged")
	}), "a LabelDiverged Event naming the proof; got %q", msgs)
}

// neverInROUntilRecloned fails the test if -ro lists a pod of the member
// as a ready endpoint before the operator deletes its volume claim to
// re-clone it. Until then every pod of the member holds the diverged data:
// its pod may be replaced on the same volume first (a container the
// kubelet killed after the thaw). The probe turns a pod Ready for at least
// its period (2 s), so a look every 200 ms sees any return.
func neverInROUntilRecloned(t *testing.T, f *framework.Framework, ns, member string, timeout time.Duration) {
	t.Helper()
	claim, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), member+"-data", metav1.GetOptions{})
	require.NoError(t, err)
	framework.Eventually(t, timeout, member+"'s volume claim deleted by the operator", func() (bool, error) {
		if inRO(t, f, ns, member) {
			framework.Fatalf(t, "-ro routes to %s, with its diverged data", member)
		}
		c, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), claim.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) || err == nil && (c.UID != claim.UID || c.DeletionTimestamp != nil):
			return true, nil
		case err != nil:
			return false, err
		}
		p, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), member, metav1.GetOptions{})
		if err != nil {
			return false, framework.Errorf("claim still there, pod: %v", err)
		}
		return false, framework.Errorf("claim still there (pod role %q, ready %v)", p.Labels["postgres-operator.dev/role"], framework.PodReady(p))
	})
}

// inRO reports whether an EndpointSlice of dv-ro lists a pod of the member
// as ready.
func inRO(t *testing.T, f *framework.Framework, ns, member string) bool {
	t.Helper()
	list, err := f.Kube.DiscoveryV1().EndpointSlices(ns).List(context.Background(),
		metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=dv-ro"})
	require.NoError(t, err)
	for _, slice := range list.Items {
		for _, ep := range slice.Endpoints {
			if ep.TargetRef != nil && ep.TargetRef.Name == member && (ep.Conditions.Ready == nil || *ep.Conditions.Ready) {
				return true
			}
		}
	}
	return false
}

// assertRecloneEvent checks the operator said why it re-cloned the member.
func assertRecloneEvent(t *testing.T, f *framework.Framework, ns, member string) {
	t.Helper()
	msgs := clusterEvents(t, f, ns, "dv", "RemoveMember")
	i := slices.IndexFunc(msgs, func(m string) bool {
		return strings.Contains(m, "replica "+member) && strings.Contains(m, "its history diverged from the primary's") &&
			strings.Contains(m, "on timeline 1, which the primary's timeline 2 does not descend from there")
	})
	require.GreaterOrEqual(t, i, 0, "a RemoveMember Event for %s naming the divergence; got %q", member, msgs)
	t.Logf("the operator: %s", msgs[i])
}
