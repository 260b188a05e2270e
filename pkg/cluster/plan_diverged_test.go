package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// frozen: the member's pod is not Ready and its PostgreSQL does not answer
// (its container is paused).
func frozen(m *member) {
	m.pod.Status.Conditions[0].Status = corev1.ConditionFalse
	unreachable(m)
}

func TestPlanDivergedLabels(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3), readyInStatus("demo-1", "demo-2", "demo-3"))
	onTimeline1 := postgres.TimelinePoint{Timeline: 1, LSN: divergedReplay}
	in := func(primary []memberOpt, replica ...memberOpt) planInput {
		return failoverInput(three, testMember(three, 1, append([]memberOpt{up(RolePrimary), promotedAt(forkLSN), writesAt(0x9000000)}, primary...)...),
			testMember(three, 2, up(RoleReplica)), testMember(three, 3, append([]memberOpt{up(RoleReplica)}, replica...)...))
	}
	tests := []struct {
		name  string
		in    planInput
		kind  actionKind
		proof string
	}{
		{"frozen, with what it replayed before past the fork: labelled at once", in(nil, frozen, earlier(divergedReplay, onTimeline1)),
			actLabelDiverged, "it has WAL at 0/7B6CCD8 on timeline 1, which the primary's timeline 2 does not descend from there"},
		{"thawed, its receiver still on the dead primary's timeline past the fork", in(nil, func(m *member) {
			m.db.ReceiverTimeline, m.db.ReplayedLSN, m.db.ReceivedLSN = 1, divergedReplay, divergedReplay
		}), actLabelDiverged, "it has WAL at 0/7B6CCD8 on timeline 1"},
		{"replayed only before the fork: it can still follow, left in -ro", in(nil, frozen,
			earlier(forkLSN-0x100, postgres.TimelinePoint{Timeline: 1, LSN: forkLSN - 0x100})), actWait, ""},
		{"a slot lost is no divergence: its data is the primary's, only old (its probe takes it out of -ro)",
			in([]memberOpt{slotLost("demo-3")}, notStreaming), actWait, ""},
		{"it streams the primary's timeline, caught up: left in -ro whatever it replayed before", in(nil,
			earlier(divergedReplay, onTimeline1), func(m *member) { m.db.ReceiverTimeline = 2 }), actNone, ""},
		{"already labelled: nothing more to do", in(nil, frozen, earlier(divergedReplay, onTimeline1), withRole(RoleDiverged)), actWait, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			require.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			if tt.proof != "" {
				assert.Equal(t, "demo-3", got.member)
				assert.Contains(t, got.reason, tt.proof)
				assert.Contains(t, got.reason, `labelling it postgres-operator.dev/role="diverged" so -ro no longer routes to it`)
			}
		})
	}
}

// TestDivergedLabelStaysUntilItStreams: planRoleLabels, which puts the
// replica label back on a standby labelled otherwise, leaves a diverged
// one alone while it does not stream from the primary, and relabels it
// once it does (the proof was wrong, or the member was rewound).
func TestDivergedLabelStaysUntilItStreams(t *testing.T) {
	two := testCluster(2, initialized("demo-1", 2), readyInStatus("demo-1", "demo-2"))
	primary := testMember(two, 1, up(RolePrimary), promotedAt(forkLSN), writesAt(0x9000000))
	receiverOnTimeline1 := func(m *member) {
		m.db.ReceiverTimeline, m.db.ReplayedLSN, m.db.ReceivedLSN = 1, divergedReplay, divergedReplay
	}
	onTimeline2 := func(m *member) { m.db.ReceiverTimeline = 2 }
	_, relabelled := planRoleLabels(failoverInput(two, primary, testMember(two, 2, up(RoleReplica), withRole(RoleDiverged), receiverOnTimeline1)))
	assert.False(t, relabelled, "diverged and streaming its old timeline: the label stays")
	_, relabelled = planRoleLabels(failoverInput(two, primary, testMember(two, 2, up(RoleReplica), withRole(RoleDiverged), notStreaming)))
	assert.False(t, relabelled, "not streaming: the label stays")
	act, relabelled := planRoleLabels(failoverInput(two, primary, testMember(two, 2, up(RoleReplica), withRole(RoleDiverged), onTimeline2)))
	require.True(t, relabelled, "streaming from the primary: a replica again")
	assert.Equal(t, actLabelReplica, act.kind)
}

// TestDivergedLabelActor: with the fakes, a diverged replica is labelled
// once, with one Warning Event; the passes after it write nothing for it.
func TestDivergedLabelActor(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3), readyInStatus("demo-1", "demo-2", "demo-3"))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), promotedAt(forkLSN), writesAt(0x9000000)),
		testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica), func(m *member) {
			m.db.ReceiverTimeline, m.db.ReplayedLSN, m.db.ReceivedLSN = 1, divergedReplay, divergedReplay
		}))
	rec := recordEvents(w)
	w.pass()
	assert.Contains(t, w.log.writes(), "patch pods demo-3")
	assert.Equal(t, 1, warnings(rec, string(actLabelDiverged)))
	w.waitPod("demo-3", func(p *corev1.Pod) bool { return p != nil && p.Labels[RoleLabel] == RoleDiverged })

	w.log.reset()
	for range 3 {
		w.pass()
	}
	assert.NotContains(t, w.log.writes(), "patch pods demo-3", "labelled once, not relabelled")
	assert.Zero(t, warnings(rec, string(actLabelDiverged)))
}

// TestDivergedMemberIsNotHealthy: a member labelled diverged counts as
// not ready in the status (and so for a switchover to "any"), even while
// its pod is Ready on a receiver that still reads streaming.
func TestDivergedMemberIsNotHealthy(t *testing.T) {
	pgc := testCluster(2)
	assert.True(t, testMember(pgc, 2, up(RoleReplica)).healthy())
	assert.False(t, testMember(pgc, 2, up(RoleReplica), withRole(RoleDiverged)).healthy())
}
