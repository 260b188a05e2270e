package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// onNode places the member's pod on a node.
func onNode(node string) memberOpt { return func(m *member) { m.pod.Spec.NodeName = node } }

// cordon marks nodes cordoned in the input's observation.
func cordon(in planInput, nodes ...string) planInput {
	for _, n := range nodes {
		in.obs.drain.cordoned[n] = true
	}
	return in
}

func foreign(in planInput, name string) planInput {
	in.obs.safety.foreign = map[string]string{name: "another database"}
	return in
}

func TestPlanDrain(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3))
	one := testCluster(1, initialized("demo-1", 1))
	noFailover := testCluster(3, initialized("demo-1", 3), failoverDisabled)
	spread := func(pgc *v1alpha1.PostgresCluster, extra ...memberOpt) planInput {
		return failoverInput(pgc, testMember(pgc, 1, append([]memberOpt{up(RolePrimary), onNode("node-a")}, extra...)...),
			testMember(pgc, 2, up(RoleReplica), at(10), onNode("node-b")), testMember(pgc, 3, up(RoleReplica), at(20), onNode("node-c")))
	}
	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		target string
		reason string
		notice string // the notice's message, "" for none
	}{
		{name: "the primary's node cordoned: switch over to the replica with the most WAL",
			in: cordon(spread(three), "node-a"), kind: actSwitchover, target: "demo-3",
			reason: "the primary's node node-a is cordoned (draining): switching over to demo-3 before it is evicted"},
		{name: "never to a replica whose node is cordoned too",
			in: cordon(spread(three), "node-a", "node-c"), kind: actSwitchover, target: "demo-2"},
		{name: "never to a replica of another database",
			in: foreign(cordon(spread(three), "node-a"), "demo-3"), kind: actSwitchover, target: "demo-2"},
		{name: "never to a replica that is not healthy",
			in: cordon(failoverInput(three, testMember(three, 1, up(RolePrimary), onNode("node-a")),
				testMember(three, 2, up(RoleReplica), at(10), onNode("node-b")),
				testMember(three, 3, starting(RoleReplica), onNode("node-c"))), "node-a"),
			kind: actSwitchover, target: "demo-2"},
		{name: "every replica on the cordoned node: no switchover, and a notice",
			in: cordon(failoverInput(three, testMember(three, 1, up(RolePrimary), onNode("node-a")),
				testMember(three, 2, up(RoleReplica), onNode("node-a")), testMember(three, 3, up(RoleReplica), onNode("node-a"))), "node-a"),
			kind: actNone, notice: "the primary demo-1's node node-a is cordoned (draining), but no healthy replica with a volume of its own runs on a " +
				"schedulable node: no switchover; evicting demo-1 stops writes until it runs again"},
		{name: "a cluster of one: no switchover, and a notice",
			in:   cordon(failoverInput(one, testMember(one, 1, up(RolePrimary), onNode("node-a"))), "node-a"),
			kind: actNone, notice: "the primary demo-1's node node-a is cordoned (draining), but no healthy replica with a volume of its own runs on a " +
				"schedulable node: no switchover; evicting demo-1 stops writes until it runs again"},
		{name: "without automatic failover: no switchover, and a notice",
			in: cordon(spread(noFailover), "node-a"), kind: actNone,
			notice: "the primary demo-1's node node-a is cordoned (draining), but spec.failover.disabled is set, and a " +
				"switchover ends in a promotion: no switchover; evicting demo-1 stops writes until it runs again"},
		{name: "a replica's node cordoned: nothing to do",
			in: cordon(spread(three), "node-b"), kind: actNone},
		{name: "nothing cordoned (or nodes not watched): nothing to do",
			in: spread(three), kind: actNone},
		{name: "an unhealthy primary is failover's business, not the drain's",
			in: cordon(spread(three, crashed), "node-a"), kind: actFence},
		{name: "a requested switchover comes first",
			in:   cordon(spread(testCluster(3, initialized("demo-1", 3), switchoverTo("demo-2"))), "node-a"),
			kind: actSwitchover, target: "demo-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, got.reason)
			assert.Equal(t, tt.target, got.target)
			if tt.reason != "" {
				assert.Equal(t, tt.reason, got.reason)
				assert.Equal(t, v1alpha1.PhaseFailingOver, got.phase)
			}
			notices := drainNotices(tt.in)
			if tt.notice == "" {
				assert.Empty(t, notices)
				return
			}
			require.Len(t, notices, 1)
			assert.Equal(t, tt.notice, notices[0].message)
			assert.Equal(t, v1alpha1.ConditionDegraded, notices[0].condition)
			assert.Equal(t, metav1.ConditionTrue, notices[0].status)
			assert.Equal(t, reasonPrimaryNodeCordoned, notices[0].reason)
		})
	}
}

func TestPlanDisruptionBudget(t *testing.T) {
	one := testCluster(1, initialized("demo-1", 1))
	built := func() map[string]*policyv1.PodDisruptionBudget {
		out := map[string]*policyv1.PodDisruptionBudget{}
		for _, b := range buildPDBs(one) {
			out[b.Name] = b
		}
		return out
	}
	with := func(mutate func(map[string]*policyv1.PodDisruptionBudget)) planInput {
		in := failoverInput(one, testMember(one, 1, up(RolePrimary)))
		in.obs.drain.pdbs = built()
		mutate(in.obs.drain.pdbs)
		return in
	}
	refused := with(func(m map[string]*policyv1.PodDisruptionBudget) { delete(m, "demo") })
	refused.pdbRefused = "forbidden"
	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		target string
	}{
		{"replicas' missing: created", with(func(m map[string]*policyv1.PodDisruptionBudget) { delete(m, "demo") }), actSyncPDB, "demo"},
		{"primary's missing: created", with(func(m map[string]*policyv1.PodDisruptionBudget) { delete(m, "demo-primary") }), actSyncPDB, "demo-primary"},
		{"edited: restored", with(func(m map[string]*policyv1.PodDisruptionBudget) {
			m["demo-primary"].Spec.MinAvailable = ptr.To(intstr.FromInt32(5))
		}), actSyncPDB, "demo-primary"},
		{"a maxUnavailable added: restored", with(func(m map[string]*policyv1.PodDisruptionBudget) {
			m["demo"].Spec.MaxUnavailable = ptr.To(intstr.FromInt32(1))
		}), actSyncPDB, "demo"},
		{"as built: nothing to do", with(func(map[string]*policyv1.PodDisruptionBudget) {}), actNone, ""},
		{"refused: not retried before its time", refused, actNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, got.reason)
			assert.Equal(t, tt.target, got.target)
		})
	}
}

func TestNodeCordoned(t *testing.T) {
	node := func(mutate func(*corev1.Node)) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}
		mutate(n)
		return n
	}
	assert.False(t, nodeCordoned(node(func(*corev1.Node) {})))
	assert.True(t, nodeCordoned(node(func(n *corev1.Node) { n.Spec.Unschedulable = true })), "kubectl cordon")
	assert.True(t, nodeCordoned(node(func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}}
	})), "the node controller's taint")
	assert.False(t, nodeCordoned(node(func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
	})), "a taint that only keeps other pods away")
}

func TestPDBRefusalIsRetriedLater(t *testing.T) {
	r := pdbRefusal{at: now, why: "forbidden"}
	assert.Equal(t, "forbidden", r.current(now.Add(pdbRetry-1)))
	assert.Empty(t, r.current(now.Add(pdbRetry)))
	assert.Empty(t, pdbRefusal{}.current(now))
}
