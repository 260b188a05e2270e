package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// Positions from the e2e run that found the gap: the replica replayed to
// 0/7B6CCD8 on timeline 1, the new primary left timeline 1 at 0/554BE20.
const (
	divergedReplay postgres.LSN = 0x7B6CCD8
	forkLSN        postgres.LSN = 0x554BE20
)

// writesAt: the primary's WAL ends at lsn.
func writesAt(lsn postgres.LSN) memberOpt { return func(m *member) { m.db.CurrentLSN = lsn } }

// receiverRefused: the replica's receiver cannot start (the primary refuses
// its starting point), so nothing in this pass tells its timeline, and its
// checkpoint lies before the fork.
func receiverRefused(lsn postgres.LSN) memberOpt {
	return func(m *member) {
		m.db.ReceiverStatus, m.db.ReceiverTimeline, m.db.ReplayedLSN, m.db.ReceivedLSN = "", 0, lsn, lsn
		m.db.Checkpoint = postgres.TimelinePoint{Timeline: 1, LSN: 0x3000060}
	}
}

// earlier: what the replica's pod reported replaying in earlier passes.
func earlier(furthest postgres.LSN, point postgres.TimelinePoint) memberOpt {
	return func(m *member) { m.replayedBefore = replayed{furthest: furthest, point: point} }
}

func TestReplicaWithEarlierProofIsRecloned(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3), readyInStatus("demo-1", "demo-2", "demo-3"))
	primaryAt := func(lsn postgres.LSN) *member {
		return testMember(three, 1, up(RolePrimary), promotedAt(forkLSN), writesAt(lsn))
	}
	in := func(primary *member, replica ...memberOpt) planInput {
		return edit(three, stuckFor(2*time.Minute, "demo-3"), primary,
			testMember(three, 2, up(RoleReplica)), testMember(three, 3, append([]memberOpt{up(RoleReplica), withRole(RoleDiverged)}, replica...)...))
	}
	onTimeline1 := postgres.TimelinePoint{Timeline: 1, LSN: divergedReplay}
	tests := []struct {
		name   string
		in     planInput
		reason string // "" when nothing is proven
	}{
		{"replayed on timeline 1 past its end in the primary's history", in(primaryAt(0x9000000), receiverRefused(divergedReplay), earlier(divergedReplay, onTimeline1)),
			"its history diverged from the primary's: it has WAL at 0/7B6CCD8 on timeline 1, which the primary's timeline 2 does not descend from there"},
		{"replayed past the primary's end of WAL, timeline never seen", in(primaryAt(forkLSN+0x20000), receiverRefused(divergedReplay), earlier(divergedReplay, postgres.TimelinePoint{})),
			"its history diverged from the primary's: it replayed WAL up to 0/7B6CCD8, past the primary's end of WAL at 0/556BE20, which it never had"},
		{"this pass's position alone: a healthy replica may have replayed WAL written after the primary's probe",
			in(primaryAt(forkLSN+0x20000), receiverRefused(divergedReplay)), ""},
		{"replayed before the fork on timeline 1: it may still follow", in(primaryAt(0x9000000), receiverRefused(forkLSN-0x100),
			earlier(forkLSN-0x100, postgres.TimelinePoint{Timeline: 1, LSN: forkLSN - 0x100})), ""},
		{"replayed on the primary's timeline", in(primaryAt(0x9000000), receiverRefused(0x8000000),
			earlier(0x8000000, postgres.TimelinePoint{Timeline: 2, LSN: 0x8000000})), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			if tt.reason == "" {
				assert.Equal(t, actWait, got.kind, "reason: %s", got.reason)
				return
			}
			assert.Equal(t, actRemoveMember, got.kind, "reason: %s", got.reason)
			assert.True(t, got.reclone)
			assert.Equal(t, "replica demo-3 has not streamed from the primary for 2m0s and never will: "+tt.reason+
				"; replacing it with a fresh clone", got.reason)
		})
	}
}

func TestRememberReplaysGivesEarlierPassesOnly(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	c, _, _ := heartbeatActor(pgc)
	pass := func(replica ...memberOpt) replayed {
		m := testMember(pgc, 2, append([]memberOpt{up(RoleReplica)}, replica...)...)
		c.rememberReplays(obsOf(pgc, testMember(pgc, 1, up(RolePrimary)), m))
		return m.replayedBefore
	}
	streaming := func(tl uint32) memberOpt {
		return func(m *member) { m.db.ReceiverTimeline, m.db.Checkpoint.Timeline = tl, tl }
	}
	ahead := func(m *member) { m.db.ReceiverTimeline, m.db.Checkpoint.Timeline = 3, 2 }
	tl1 := postgres.TimelinePoint{Timeline: 1, LSN: 0x5000000}

	assert.Zero(t, pass(at(0x5000000), streaming(1)), "nothing before the first pass")
	assert.Equal(t, replayed{0x5000000, tl1}, pass(at(0x6000000)), "the first pass's report")
	assert.Equal(t, replayed{0x6000000, tl1}, pass(unreachable), "kept while it does not answer; no timeline named, no new point")
	assert.Equal(t, replayed{0x6000000, tl1}, pass(at(0x6100000), ahead), "its receiver on timeline 3, its replay on 2 or 3: no point")
	assert.Equal(t, replayed{0x6100000, tl1}, pass(at(0x6200000), streaming(1), func(m *member) { m.db.ReceiverStatus = "waiting" }),
		"a waiting receiver names the timeline it last streamed, not the replay's: no point")
	assert.Equal(t, replayed{0x6200000, tl1}, pass(at(0x4000000), streaming(2)), "the furthest, whatever the timeline")
	assert.Equal(t, replayed{0x6200000, postgres.TimelinePoint{Timeline: 2, LSN: 0x4000000}}, pass(func(m *member) { m.db.InRecovery = false }),
		"a newer timeline replaces the point")
	assert.Zero(t, pass(at(0x7000000)), "forgotten once the pod reported as a primary")

	other := testMember(pgc, 2, up(RoleReplica), at(0x7000000), func(m *member) { m.pod.UID = "uid-new-pod" })
	c.rememberReplays(obsOf(pgc, other))
	assert.Zero(t, other.replayedBefore, "a new pod starts afresh")
}
