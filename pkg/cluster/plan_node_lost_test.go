package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// unreachableOn: the member's pod is bound to a node that stopped
// reporting. The node controller marked the pod not ready, and its
// PostgreSQL does not answer.
func unreachableOn(node string) memberOpt {
	return func(m *member) {
		up(RoleReplica)(m)
		m.pod.Spec.NodeName = node
		m.pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		m.db = nil
	}
}

// lost says what observe found of the members on lost nodes.
func lost(in planInput, losses map[string]nodeLoss) planInput {
	in.obs.nodeLost = losses
	return in
}

// lostFor: node lost (Ready Unknown) for d before now, its volume at place.
func lostFor(node string, d time.Duration, place volumePlace) nodeLoss {
	return nodeLoss{node: node, state: nodeUnreachable, since: now.Add(-d), volume: place}
}

func TestPlanNodeLost(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3))
	fast := testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.NodeLostAfterSeconds = 20 })
	noFailover := testCluster(3, initialized("demo-1", 3), failoverDisabled)
	afterFailover := testCluster(3, initialized("demo-2", 3))
	shrinking := testCluster(2, initialized("demo-1", 3))
	// spread: the primary demo-1 on node-a, demo-2 on node-b, demo-3 on
	// node-c, which is lost; extra options go to demo-3.
	spread := func(pgc *v1alpha1.PostgresCluster, loss nodeLoss, extra ...memberOpt) planInput {
		return lost(failoverInput(pgc, testMember(pgc, 1, up(RolePrimary), onNode("node-a")),
			testMember(pgc, 2, up(RoleReplica), onNode("node-b")),
			testMember(pgc, 3, append([]memberOpt{unreachableOn("node-c")}, extra...)...)),
			map[string]nodeLoss{"demo-3": loss})
	}
	twoLost := map[string]nodeLoss{"demo-2": lostFor("node-c", 2*time.Minute, volumePinned), "demo-3": lostFor("node-c", 2*time.Minute, volumePinned)}

	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		member string
		reason string // the action's reason, when checked
		notice string // the first notice's message, when checked
		quiet  bool   // no notice at all
	}{
		{name: "lost for less than the grace: the member may come back, nothing is done",
			in: spread(three, lostFor("node-c", 59*time.Second, volumePinned)), kind: actWait, member: "demo-3",
			notice: "replica demo-3's node node-c is unreachable (Ready Unknown) since 11:59:01 and its volume is on that node only: " +
				"unless the node is back by 12:00:01 (spec.failover.nodeLostAfterSeconds 60), it is replaced by a new member cloned from the primary on another node"},
		{name: "lost for the grace, volume on that node only: replaced",
			in: spread(three, lostFor("node-c", time.Minute, volumePinned)), kind: actReplaceLost, member: "demo-3",
			reason: "replica demo-3's node node-c has been unreachable (Ready Unknown) for 1m0s (spec.failover.nodeLostAfterSeconds 60) " +
				"and its volume is on that node only: force-deleting its pod and deleting its volume claim; " +
				"its data is cloned again from the primary demo-1, into a new member on another node",
			notice: "replica demo-3's node node-c is unreachable (Ready Unknown) since 11:59:00 and its volume is on that node only: " +
				"replacing it with a new member cloned from the primary on another node"},
		{name: "the grace is the spec's",
			in: spread(fast, lostFor("node-c", 20*time.Second, volumePinned)), kind: actReplaceLost, member: "demo-3"},
		{name: "NotReady counts as lost",
			in:   spread(three, nodeLoss{node: "node-c", state: nodeNotReady, since: now.Add(-time.Hour), volume: volumePinned}),
			kind: actReplaceLost, member: "demo-3"},
		{name: "a claim with no data yet: replaced",
			in: spread(three, lostFor("node-c", time.Hour, volumeNoData)), kind: actReplaceLost, member: "demo-3",
			reason: "replica demo-3's node node-c has been unreachable (Ready Unknown) for 1h0m0s (spec.failover.nodeLostAfterSeconds 60) " +
				"and its volume claim holds no data (not bound to a volume, or its volume is gone): force-deleting its pod and deleting its volume claim; " +
				"its data is cloned again from the primary demo-1, into a new member on another node"},
		{name: "a volume that can move is left to Kubernetes, and the user told how",
			in: spread(three, lostFor("node-c", time.Hour, volumeMovable)), kind: actWait, member: "demo-3",
			notice: "replica demo-3's node node-c is unreachable (Ready Unknown) since 11:00:00: not replaced: its volume can move to another node, " +
				"but only once its pod is gone, and the operator does not force that while node-c may still run it; once node-c is confirmed down, " +
				"delete its Node or taint it node.kubernetes.io/out-of-service=nodeshutdown:NoExecute, and demo-3 starts again elsewhere on its volume"},
		{name: "a volume that could not be read is not deleted",
			in: func() planInput {
				l := lostFor("node-c", time.Hour, volumeUnread)
				l.unread = "forbidden"
				return spread(three, l)
			}(), kind: actWait, member: "demo-3",
			notice: "replica demo-3's node node-c is unreachable (Ready Unknown) since 11:00:00: not replaced: the operator could not read its " +
				"PersistentVolume (forbidden), so it cannot tell whether its data can leave the node"},
		{name: "a member of another database is never replaced",
			in: foreign(spread(three, lostFor("node-c", time.Hour, volumePinned)), "demo-3"), kind: actWait, member: "demo-3",
			notice: "replica demo-3's node node-c is unreachable (Ready Unknown) since 11:00:00: not replaced: it holds another database " +
				"(another database), whose volume the operator never deletes"},
		{name: "the primary's node NotReady while it still answers: never replaced",
			in: lost(failoverInput(three, testMember(three, 1, up(RolePrimary), onNode("node-c")),
				testMember(three, 2, up(RoleReplica), onNode("node-a")), testMember(three, 3, up(RoleReplica), onNode("node-b"))),
				map[string]nodeLoss{"demo-1": lostFor("node-c", time.Hour, volumePinned)}),
			kind: actNone, quiet: true},
		{name: "a fenced primary not yet failed over is status's primary: failover's business",
			in: lost(failoverInput(three, testMember(three, 1, unreachableOn("node-c"), fencedPod, terminating),
				testMember(three, 2, up(RoleReplica), onNode("node-a")), testMember(three, 3, up(RoleReplica), onNode("node-b"))),
				map[string]nodeLoss{"demo-1": lostFor("node-c", time.Hour, volumePinned)}),
			kind: actWait, member: "demo-1", quiet: true},
		{name: "the old primary once another member took over: replaced",
			in: lost(failoverInput(afterFailover, testMember(afterFailover, 1, unreachableOn("node-c"), fencedPod, terminating),
				testMember(afterFailover, 2, up(RolePrimary), onNode("node-a")), testMember(afterFailover, 3, up(RoleReplica), onNode("node-b"))),
				map[string]nodeLoss{"demo-1": lostFor("node-c", 90*time.Second, volumePinned)}),
			kind: actReplaceLost, member: "demo-1",
			reason: "the old primary demo-1's node node-c has been unreachable (Ready Unknown) for 1m30s (spec.failover.nodeLostAfterSeconds 60) " +
				"and its volume is on that node only: force-deleting its pod and deleting its volume claim; " +
				"its data is cloned again from the primary demo-2, into a new member on another node"},
		{name: "no healthy primary to clone from: waits",
			in: lost(failoverInput(noFailover, testMember(noFailover, 1, up(RolePrimary), onNode("node-a"), crashed),
				testMember(noFailover, 2, up(RoleReplica), onNode("node-b")), testMember(noFailover, 3, unreachableOn("node-c"))),
				map[string]nodeLoss{"demo-3": lostFor("node-c", time.Hour, volumePinned)}),
			kind: actWait, member: "demo-1",
			notice: "replica demo-3's node node-c is unreachable (Ready Unknown) since 11:00:00 and its volume is on that node only: " +
				"it is replaced by a new member cloned from the primary on another node once a healthy primary runs to clone from"},
		{name: "two lost: the first by ordinal",
			in: lost(failoverInput(three, testMember(three, 1, up(RolePrimary), onNode("node-a")),
				testMember(three, 2, unreachableOn("node-c")), testMember(three, 3, unreachableOn("node-c"))), twoLost),
			kind: actReplaceLost, member: "demo-2"},
		{name: "two lost, one replaced: its replacement is made first",
			in: lost(failoverInput(three, testMember(three, 1, up(RolePrimary), onNode("node-a")),
				testMember(three, 3, unreachableOn("node-c"))), twoLost),
			kind: actCreateMember, member: "demo-4"},
		{name: "two lost, one replaced: the next waits until its replacement is ready",
			in: lost(failoverInput(testCluster(3, initialized("demo-1", 4)), testMember(three, 1, up(RolePrimary), onNode("node-a")),
				testMember(three, 3, unreachableOn("node-c")), testMember(three, 4, starting(RoleReplica), onNode("node-b"))), twoLost),
			kind: actWait, member: "demo-3",
			notice: "replica demo-3's node node-c is unreachable (Ready Unknown) since 11:58:00 and its volume is on that node only: " +
				"it is replaced by a new member cloned from the primary on another node once demo-4 is ready (one member at a time)"},
		{name: "scaling down with a member lost: it goes first, forced",
			in: spread(shrinking, lostFor("node-c", time.Hour, volumePinned)), kind: actReplaceLost, member: "demo-3"},
		{name: "the node is back: nothing to do",
			in: lost(failoverInput(three, testMember(three, 1, up(RolePrimary), onNode("node-a")),
				testMember(three, 2, up(RoleReplica), onNode("node-b")), testMember(three, 3, up(RoleReplica), onNode("node-c"))), nil),
			kind: actNone, quiet: true},
		{name: "nodes not watched (no Nodes lister): no loss is seen, the member is waited for",
			in: lost(spread(three, nodeLoss{}), map[string]nodeLoss{}), kind: actWait, member: "demo-3", quiet: true},
		{name: "not initialized: the bootstrap's business",
			in: spread(testCluster(3), lostFor("node-c", time.Hour, volumePinned)), kind: actFinishBootstrap, member: "demo-1", quiet: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, got.reason)
			assert.Equal(t, tt.member, got.member, got.reason)
			if tt.reason != "" {
				assert.Equal(t, tt.reason, got.reason)
			}
			if got.kind == actReplaceLost {
				assert.Equal(t, v1alpha1.PhaseRecovering, got.phase)
			}
			notices := nodeLostNotices(tt.in)
			if tt.quiet {
				assert.Empty(t, notices)
			}
			if tt.notice == "" {
				return
			}
			require.NotEmpty(t, notices)
			assert.Equal(t, tt.notice, notices[0].message)
			assert.Equal(t, v1alpha1.ConditionDegraded, notices[0].condition)
			assert.Equal(t, metav1.ConditionTrue, notices[0].status)
			assert.Equal(t, reasonNodeLost, notices[0].reason)
		})
	}
}

// The notices: none for the primary; while the grace runs, a pass is asked
// for when it ends; one Event per member and state.
func TestNodeLostNotices(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3))
	in := lost(failoverInput(three, testMember(three, 1, up(RolePrimary), onNode("node-c")),
		testMember(three, 2, up(RoleReplica), onNode("node-b")), testMember(three, 3, unreachableOn("node-c"))),
		map[string]nodeLoss{"demo-1": lostFor("node-c", 10*time.Second, volumePinned), "demo-3": lostFor("node-c", 10*time.Second, volumePinned)})

	waiting := nodeLostNotices(in)
	require.Len(t, waiting, 1, "none for the primary")
	assert.Equal(t, 50*time.Second, waiting[0].recheck, "a pass when the grace ends")
	assert.Equal(t, "NodeLost/demo-3/node-c/waiting", waiting[0].key)

	in.now = now.Add(time.Minute)
	due := nodeLostNotices(in)
	require.Len(t, due, 1)
	assert.Zero(t, due[0].recheck)
	assert.Equal(t, "NodeLost/demo-3/node-c/replacing", due[0].key, "a new state: a new Event")
}

func TestNodeLostAfter(t *testing.T) {
	assert.Equal(t, time.Minute, nodeLostAfter(testCluster(3)), "the default, as the CRD's")
	assert.Equal(t, 20*time.Second, nodeLostAfter(testCluster(3, func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.NodeLostAfterSeconds = 20 })))
}
