package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// cutOff: the primary was fenced (label removed, pod deleted) but its node
// never confirmed the end: the pod stays terminating with its last status,
// running.
func cutOff(m *member) {
	fencedPod(m)
	terminating(m)
	m.db = nil
}

// withoutFenceProbe: a pod made before self-fencing existed.
func withoutFenceProbe(m *member) { delete(m.pod.Annotations, FenceAfterAnnotation) }

// lastAliveAgo sets when the old primary was last known alive.
func lastAliveAgo(in planInput, d time.Duration) planInput {
	in.lastAlive = map[string]time.Time{"demo-1": now.Add(-d)}
	return in
}

func TestPromotingPastAnUnconfirmedPrimary(t *testing.T) {
	async := testCluster(3, initialized("demo-1", 3))
	sync := testCluster(3, initialized("demo-1", 3), readyInStatus("demo-2", "demo-3"),
		func(p *v1alpha1.PostgresCluster) { p.Spec.Replication.Mode = v1alpha1.ReplicationSync })
	disabled := testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.Disabled = true })
	one := testCluster(1, initialized("demo-1", 1))
	lease := defaultFenceAfter + fenceMargin
	three := func(pgc *v1alpha1.PostgresCluster, old ...memberOpt) planInput {
		return failoverInput(pgc, testMember(pgc, 1, append([]memberOpt{up(RolePrimary)}, old...)...),
			testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(200)))
	}

	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		member string
		says   string
	}{
		{name: "within T + margin: wait for it to fence itself", in: lastAliveAgo(three(async, cutOff), lease-time.Millisecond),
			kind: actWait, member: "demo-1", says: "waiting for the old primary to fence itself"},
		{name: "no record of it (operator restarted): the wait starts now", in: three(async, cutOff),
			kind: actWait, member: "demo-1", says: "waiting for the old primary to fence itself"},
		{name: "T + margin passed: promote the replica with the most WAL", in: lastAliveAgo(three(async, cutOff), lease),
			kind: actPromote, member: "demo-3", says: "has fenced itself"},
		{name: "the kubelet confirms the end: promote at once, no lease wait", in: lastAliveAgo(three(async, containerExited, fencedPod, terminating), time.Second),
			kind: actPromote, member: "demo-3"},
		{name: "a pod without the fence probe is never promoted past unconfirmed", in: lastAliveAgo(three(async, cutOff, withoutFenceProbe), time.Hour),
			kind: actWait, member: "demo-1", says: "waiting until its pod is gone"},
		{name: "a longer lease on the pod is waited out", in: lastAliveAgo(three(async, cutOff, func(m *member) { m.pod.Annotations[FenceAfterAnnotation] = "30" }), lease),
			kind: actWait, member: "demo-1", says: "fenceAfterSeconds 30 s"},
		{name: "failover disabled: wait for the pod", in: lastAliveAgo(three(disabled, cutOff), time.Hour),
			kind: actWait, member: "demo-1", says: "waiting until its pod is gone"},
		{name: "sync: past the lease, every ready replica must still answer", in: func() planInput {
			in := lastAliveAgo(three(sync, cutOff), lease)
			unreachable(in.obs.members[1])
			return in
		}(), kind: actWait, says: "sync mode"},
		{name: "past the lease, a promoted member without its label is labelled", in: func() planInput {
			in := lastAliveAgo(three(async, cutOff), lease)
			in.obs.members[2].db.InRecovery = false
			return in
		}(), kind: actLabelPrimary, member: "demo-3"},
		{name: "one member: nothing to promote, the pod is waited for", in: lastAliveAgo(failoverInput(one, testMember(one, 1, up(RolePrimary), cutOff)), time.Hour),
			kind: actWait, member: "demo-1", says: "waiting until its pod is gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			if tt.member != "" {
				assert.Equal(t, tt.member, got.member, "reason: %s", got.reason)
			}
			assert.Contains(t, got.reason, tt.says)
		})
	}
}

// An unreachable primary a replica vouches for is still not failed over,
// however long ago the operator last reached it.
func TestVouchStillWinsOverTheLease(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	in := lastAliveAgo(failoverInput(pgc, testMember(pgc, 1, up(RolePrimary), unreachable),
		testMember(pgc, 2, up(RoleReplica), heardFromPrimary(2*time.Second)), testMember(pgc, 3, up(RoleReplica))), time.Hour)
	in.unreachableSince["demo-1"] = now.Add(-time.Minute)
	got := plan(in)
	assert.Equal(t, actWait, got.kind, got.reason)
	assert.Contains(t, got.reason, "not failing over")
}

func heardFromPrimary(age time.Duration) memberOpt {
	return func(m *member) { m.db.ReceiverHeard, m.db.ReceiverMessageAge, m.db.ReceiverTimeline = true, age, 1 }
}

func TestAwaitingSelfFenceNotice(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	in := lastAliveAgo(failoverInput(pgc, testMember(pgc, 1, up(RolePrimary), cutOff),
		testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica))), 5*time.Second)
	ns := fenceNotices(in)
	require.Len(t, ns, 1)
	assert.Equal(t, v1alpha1.ConditionPrimaryAvailable, ns[0].condition)
	assert.Equal(t, metav1.ConditionFalse, ns[0].status)
	assert.Equal(t, reasonAwaitingSelfFence, ns[0].reason)
	assert.Contains(t, ns[0].message, "waiting for the old primary to fence itself")
	assert.Equal(t, defaultFenceAfter+fenceMargin-5*time.Second, ns[0].recheck, "a pass when the wait ends")

	later := lastAliveAgo(in, time.Minute)
	assert.Empty(t, fenceNotices(later), "over once the lease has run out")
	in.now = in.now.Add(time.Second)
	assert.Equal(t, ns[0].message, fenceNotices(in)[0].message, "the message does not change from pass to pass")
}

func TestFailoverRecheckAtTheEndOfTheGrace(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	in := failoverInput(pgc, testMember(pgc, 1, up(RolePrimary), unreachable), testMember(pgc, 2, up(RoleReplica)))
	assert.Zero(t, failoverRecheck(in), "reachable so far")
	in.unreachableSince["demo-1"] = now.Add(-2 * time.Second)
	assert.Equal(t, unreachableGrace-2*time.Second, failoverRecheck(in))
	in.unreachableSince["demo-1"] = now.Add(-unreachableGrace)
	assert.Zero(t, failoverRecheck(in), "due now: this pass fences")
}
