package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// heard: the replica's WAL receiver had a message from the primary age ago,
// on the timeline it streams.
func heard(age time.Duration) memberOpt {
	return func(m *member) {
		m.db.ReceiverHeard, m.db.ReceiverMessageAge, m.db.ReceiverTimeline = true, age, m.db.Timeline
	}
}

// unreachableFor: the operator's probes of the member have failed for d.
func unreachableFor(d time.Duration, name string) func(*planInput) {
	return func(in *planInput) { in.unreachableSince[name] = now.Add(-d) }
}

func onTimeline(tl int64) func(*v1alpha1.PostgresCluster) {
	return func(p *v1alpha1.PostgresCluster) { p.Status.Timeline = tl }
}

func TestPlanVouchedPrimary(t *testing.T) {
	known := readyInStatus("demo-1", "demo-2", "demo-3")
	three := testCluster(3, initialized("demo-1", 3), onTimeline(1), known)
	delayed := testCluster(3, initialized("demo-1", 3), onTimeline(1), known, func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.DelaySeconds = 30 })
	tl2 := testCluster(3, initialized("demo-1", 3), onTimeline(2))
	foreignID := testCluster(3, initialized("demo-1", 3), onTimeline(1), withSystemID("7000000000000000002"))
	cut := unreachableFor(6*time.Second, "demo-1")
	replicas := func(pgc *v1alpha1.PostgresCluster, opts2, opts3 []memberOpt) []*member {
		return []*member{testMember(pgc, 2, append([]memberOpt{up(RoleReplica)}, opts2...)...),
			testMember(pgc, 3, append([]memberOpt{up(RoleReplica)}, opts3...)...)}
	}
	withPrimary := func(pgc *v1alpha1.PostgresCluster, primary []memberOpt, rs []*member) []*member {
		return append([]*member{testMember(pgc, 1, append([]memberOpt{up(RolePrimary)}, primary...)...)}, rs...)
	}
	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		phase  v1alpha1.ClusterPhase
		reason string
	}{
		{"unreachable, a replica heard from it 0.4 s ago: no failover", edit(three, cut,
			withPrimary(three, []memberOpt{unreachable}, replicas(three, []memberOpt{heard(3 * time.Second)}, []memberOpt{heard(400 * time.Millisecond)}))...),
			actWait, v1alpha1.PhaseRunning,
			"primary demo-1 does not answer the operator, but replica demo-3 received WAL from it 0.4 s ago: not failing over (an operator-side network problem is not a dead primary)"},
		{"the replicas last heard from it too long ago: fence", edit(three, cut,
			withPrimary(three, []memberOpt{unreachable}, replicas(three, []memberOpt{heard(8 * time.Second)}, nil))...),
			actFence, v1alpha1.PhaseFailingOver, ""},
		{"a replica that heard from it but no longer streams proves nothing: fence", edit(three, cut,
			withPrimary(three, []memberOpt{unreachable}, replicas(three, []memberOpt{heard(time.Second), notStreaming}, nil))...),
			actFence, v1alpha1.PhaseFailingOver, ""},
		{"a replica streaming another timeline than the cluster's proves nothing: fence", edit(tl2, cut,
			withPrimary(tl2, []memberOpt{unreachable}, replicas(tl2, []memberOpt{heard(time.Second)}, nil))...),
			actFence, v1alpha1.PhaseFailingOver, ""},
		{"a replica of another database proves nothing: fence", edit(foreignID, func(in *planInput) {
			cut(in)
			in.obs.safety.foreign = map[string]string{"demo-2": "another database"}
		}, withPrimary(foreignID, []memberOpt{unreachable}, replicas(foreignID, []memberOpt{heard(time.Second)}, nil))...),
			actFence, v1alpha1.PhaseFailingOver, ""},
		{"within the grace nothing is asked: the primary is not lost yet", edit(three, unreachableFor(2*time.Second, "demo-1"),
			withPrimary(three, []memberOpt{unreachable}, replicas(three, []memberOpt{heard(time.Second)}, nil))...),
			actWait, v1alpha1.PhaseRecovering, "waiting for demo-1 to become ready"},
		{"the failover delay does not bypass the replicas' word", edit(delayed, func(in *planInput) {
			cut(in)
			in.lostSince["demo-1"] = now.Add(-time.Minute)
		}, withPrimary(delayed, []memberOpt{unreachable}, replicas(delayed, []memberOpt{heard(time.Second)}, nil))...),
			actWait, v1alpha1.PhaseRunning, ""},
		// Deaths the kubelet confirms take the fast path, whatever replicas say.
		{"pod deleted: fence at once", edit(three, cut,
			withPrimary(three, []memberOpt{terminating}, replicas(three, []memberOpt{heard(time.Second)}, nil))...),
			actFence, v1alpha1.PhaseFailingOver, ""},
		{"container exited: fence at once", edit(three, cut,
			withPrimary(three, []memberOpt{exited}, replicas(three, []memberOpt{heard(time.Second)}, nil))...),
			actFence, v1alpha1.PhaseFailingOver, ""},
		{"container crashed and restarted: fence at once", edit(three, cut,
			withPrimary(three, []memberOpt{crashed}, replicas(three, []memberOpt{heard(time.Second)}, nil))...),
			actFence, v1alpha1.PhaseFailingOver, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			assert.Equal(t, tt.phase, phaseOf(tt.in.cluster, tt.in.obs, got), "reason: %s", got.reason)
			if tt.reason != "" {
				assert.Equal(t, tt.reason, got.reason)
			}
		})
	}
}

func TestVouchNotice(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), onTimeline(1))
	in := edit(pgc, unreachableFor(6*time.Second, "demo-1"),
		testMember(pgc, 1, up(RolePrimary), unreachable), testMember(pgc, 2, up(RoleReplica), heard(2*time.Second)))
	ns := safetyNotices(in)
	require.Len(t, ns, 1)
	n := ns[0]
	assert.Equal(t, v1alpha1.ConditionPrimaryAvailable, n.condition)
	assert.Equal(t, metav1.ConditionUnknown, n.status)
	assert.Equal(t, reasonUnreachableFromOperator, n.reason)
	assert.Equal(t, "primary demo-1 does not answer the operator, but replica demo-2 receives WAL from it: "+
		"not failing over (an operator-side network problem is not a dead primary)", n.message)
	assert.Equal(t, 5*time.Second, n.recheck, "look again when the replica's word goes stale")

	in.obs.members[1].db.ReceiverMessageAge = 9 * time.Second
	assert.Empty(t, safetyNotices(in), "no notice once the failover goes ahead")
}
