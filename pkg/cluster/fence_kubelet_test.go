package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// kubeletRenewed: the node Lease of the old primary's node, renewed ago
// before the operator read it at now (a 40 s Lease: renewed every 10 s).
func kubeletRenewed(in planInput, ago time.Duration) planInput {
	obs := *in.obs // a copy: the cases share their input
	obs.safety.kubelet = &kubeletLease{node: "node-a", renewed: now.Add(-ago), every: 10 * time.Second, readAt: now}
	in.obs = &obs
	return in
}

// A deleted primary whose kubelet is connected has no self-fence left (the
// kubelet stopped its probe): past the lease, the operator still waits for
// the kubelet. A kubelet that stopped renewing is cut off, and the lease
// rule promotes.
func TestPromotingPastAnUnconfirmedPrimaryWaitsForAConnectedKubelet(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	lease := defaultFenceAfter + fenceMargin
	in := lastAliveAgo(failoverInput(pgc, testMember(pgc, 1, up(RolePrimary), onNode("node-a"), cutOff),
		testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(200))), time.Minute)

	tests := []struct {
		name string
		in   planInput
		kind actionKind
		says string
	}{
		{name: "renewed 3 s ago: connected, wait", in: kubeletRenewed(in, 3*time.Second), kind: actWait, says: "waiting for the kubelet to confirm"},
		{name: "renewed 13 s ago: one renewal late, still connected", in: kubeletRenewed(in, 13*time.Second), kind: actWait, says: "node-a"},
		{name: "renewed 14 s ago: cut off, promote", in: kubeletRenewed(in, 14*time.Second), kind: actPromote, says: "has fenced itself"},
		{name: "no Lease read: the lease rule alone", in: in, kind: actPromote, says: "has fenced itself"},
		{name: "within the lease: the self-fence wait comes first", in: lastAliveAgo(kubeletRenewed(in, time.Second), lease-time.Second),
			kind: actWait, says: "waiting for the old primary to fence itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			assert.Contains(t, got.reason, tt.says)
		})
	}
}

func TestAwaitingKubeletNotice(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	in := kubeletRenewed(lastAliveAgo(failoverInput(pgc, testMember(pgc, 1, up(RolePrimary), onNode("node-a"), cutOff),
		testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica))), time.Minute), 4*time.Second)
	ns := fenceNotices(in)
	require.Len(t, ns, 1)
	assert.Equal(t, v1alpha1.ConditionPrimaryAvailable, ns[0].condition)
	assert.Equal(t, metav1.ConditionFalse, ns[0].status)
	assert.Equal(t, reasonAwaitingKubelet, ns[0].reason)
	assert.Equal(t, 10*time.Second, ns[0].recheck, "a pass once the kubelet would count as cut off")

	renewedAgain := kubeletRenewed(in, time.Second)
	assert.Equal(t, ns[0].message, fenceNotices(renewedAgain)[0].message, "a renewal does not rewrite the message")
	assert.Empty(t, fenceNotices(kubeletRenewed(in, time.Minute)), "no notice once the kubelet is cut off")
}

var leasesResource = coordinationv1.SchemeGroupVersion.WithResource("leases")

func TestObserveKubelet(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	renewed := now.Add(-3 * time.Second)
	nodeLease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-a", Namespace: nodeLeaseNamespace},
		Spec: coordinationv1.LeaseSpec{RenewTime: ptr.To(metav1.NewMicroTime(renewed)), LeaseDurationSeconds: ptr.To[int32](40)}}
	f := newActorFixture(t, pgc, nodeLease)
	f.c.cfg.Clock = testingclock.NewFakeClock(now)
	deleted := members{testMember(pgc, 1, up(RolePrimary), onNode("node-a"), cutOff), testMember(pgc, 2, up(RoleReplica))}

	obs := &observation{members: deleted}
	f.c.observeKubelet(f.ctx, obs)
	assert.Equal(t, &kubeletLease{node: "node-a", renewed: renewed, every: 10 * time.Second, readAt: now}, obs.safety.kubelet)

	t.Run("a primary still labelled, or fenced but not yet deleted: nothing read", func(t *testing.T) {
		for _, old := range []*member{testMember(pgc, 1, up(RolePrimary), onNode("node-a")),
			testMember(pgc, 1, up(RolePrimary), onNode("node-a"), fencedPod)} {
			obs := &observation{members: members{old, deleted[1]}}
			f.c.observeKubelet(f.ctx, obs)
			assert.Nil(t, obs.safety.kubelet)
		}
	})
	t.Run("a node without a Lease: nothing says its kubelet is connected", func(t *testing.T) {
		obs := &observation{members: members{testMember(pgc, 1, up(RolePrimary), onNode("node-gone"), cutOff), deleted[1]}}
		f.c.observeKubelet(f.ctx, obs)
		assert.Nil(t, obs.safety.kubelet)
	})
	t.Run("a read that fails: the kubelet may be connected, so the pass waits", func(t *testing.T) {
		f.kube.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewTimeoutError("slow", 1)
		})
		obs := &observation{members: deleted}
		f.c.observeKubelet(f.ctx, obs)
		require.NotNil(t, obs.safety.kubelet)
		assert.True(t, obs.safety.kubelet.connected())
		assert.Contains(t, awaitingKubelet(deleted[0], obs.safety.kubelet), "could not be read")
	})
	t.Run("forbidden: asked once, then never again", func(t *testing.T) {
		gets := 0
		f.kube.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
			gets++
			return true, nil, apierrors.NewForbidden(leasesResource.GroupResource(), "node-a", nil)
		})
		for range 2 {
			obs := &observation{members: deleted}
			f.c.observeKubelet(f.ctx, obs)
			assert.Nil(t, obs.safety.kubelet)
		}
		assert.Equal(t, 1, gets)
	})
}
