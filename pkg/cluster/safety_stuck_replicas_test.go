package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

// stuckFor: the replica's WAL receiver has not streamed for d.
func stuckFor(d time.Duration, names ...string) func(*planInput) {
	return func(in *planInput) {
		if in.notStreamingSince == nil {
			in.notStreamingSince = map[string]time.Time{}
		}
		for _, n := range names {
			in.notStreamingSince[n] = now.Add(-d)
		}
	}
}

// slotLost: the primary reports the member's slot invalidated.
func slotLost(name string) memberOpt {
	return func(m *member) {
		if m.db.SlotWALStatus == nil {
			m.db.SlotWALStatus = map[string]string{}
		}
		m.db.SlotWALStatus[postgres.SlotName(name)] = "lost"
	}
}

// walFrom: the primary's oldest WAL segment starts at lsn.
func walFrom(lsn postgres.LSN) memberOpt { return func(m *member) { m.db.OldestWAL = lsn } }

// promotedAt: the primary is on timeline 2, which left timeline 1 at lsn.
func promotedAt(lsn postgres.LSN) memberOpt {
	return func(m *member) {
		m.db.Timeline, m.db.HistoryKnown = 2, true
		m.db.History = []postgres.TimelinePoint{{Timeline: 1, LSN: lsn}}
	}
}

// receiverWaitsAt: the replica's receiver waits on timeline 1 after replaying to lsn.
func receiverWaitsAt(lsn postgres.LSN) memberOpt {
	return func(m *member) {
		m.db.ReceiverStatus, m.db.ReceiverTimeline, m.db.ReplayedLSN, m.db.ReceivedLSN = "waiting", 1, lsn, lsn
	}
}

// receiverBehindItsReplay: the receiver reads streaming but has received less than
// the standby replayed, which fails the readiness probe.
func receiverBehindItsReplay(m *member) {
	m.db.ReceiverStatus, m.db.ReceivedLSN, m.db.ReplayedLSN = "streaming", 0x4000000, 0x4000148
}

// notReady: the pod's readiness probe fails.
func notReady(m *member) { m.pod.Status.Conditions[0].Status = corev1.ConditionFalse }

func withAll(fns ...func(*planInput)) func(*planInput) {
	return func(in *planInput) {
		for _, fn := range fns {
			fn(in)
		}
	}
}

func TestPlanStuckReplicas(t *testing.T) {
	known := readyInStatus("demo-1", "demo-2", "demo-3")
	three := testCluster(3, initialized("demo-1", 3), known)
	two := testCluster(2, initialized("demo-1", 2), known)
	members3 := func(primary, r2, r3 []memberOpt) []*member {
		return []*member{testMember(three, 1, append([]memberOpt{up(RolePrimary)}, primary...)...),
			testMember(three, 2, append([]memberOpt{up(RoleReplica)}, r2...)...),
			testMember(three, 3, append([]memberOpt{up(RoleReplica)}, r3...)...)}
	}
	members2 := func(primary, r2 []memberOpt) []*member {
		return []*member{testMember(two, 1, append([]memberOpt{up(RolePrimary)}, primary...)...),
			testMember(two, 2, append([]memberOpt{up(RoleReplica)}, r2...)...)}
	}
	stuck3 := stuckFor(2*time.Minute, "demo-3")
	four := testCluster(4, initialized("demo-1", 4), readyInStatus("demo-1", "demo-2", "demo-3", "demo-4"))
	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		member string
		phase  v1alpha1.ClusterPhase
		reason string // the action's, when it re-clones
	}{
		{"not streaming without proof: no volume is touched", edit(three, stuck3,
			members3(nil, nil, []memberOpt{notStreaming})...), actWait, "demo-3", v1alpha1.PhaseRecovering, ""},
		{"a minute is not up yet, even with proof", edit(three, stuckFor(59*time.Second, "demo-3"),
			members3([]memberOpt{slotLost("demo-3")}, nil, []memberOpt{notStreaming})...), actWait, "demo-3", v1alpha1.PhaseRecovering, ""},
		{"its slot was invalidated: re-cloned", edit(three, stuck3,
			members3([]memberOpt{slotLost("demo-3")}, nil, []memberOpt{notStreaming})...), actRemoveMember, "demo-3", v1alpha1.PhaseScaling,
			"replica demo-3 has not streamed from the primary for 2m0s and never will: its slot demo_3 on the primary was invalidated " +
				"(wal_status lost): the WAL it needs is gone; replacing it with a fresh clone"},
		{"the WAL it needs is older than the primary's oldest segment: re-cloned", edit(three, stuck3,
			members3([]memberOpt{walFrom(0x3000000)}, nil, []memberOpt{notStreaming, at(0x2000100)})...), actRemoveMember, "demo-3", v1alpha1.PhaseScaling,
			"replica demo-3 has not streamed from the primary for 2m0s and never will: it needs WAL from 0/2000100, which is gone " +
				"from the primary; replacing it with a fresh clone"},
		{"the WAL it needs is still there: left alone", edit(three, stuck3,
			members3([]memberOpt{walFrom(0x3000000)}, nil, []memberOpt{notStreaming, at(0x3000100)})...), actWait, "demo-3", v1alpha1.PhaseRecovering, ""},
		{"its receiver waits on a timeline the primary left before its position: re-cloned", edit(three, stuck3,
			members3([]memberOpt{promotedAt(0x4018038)}, nil, []memberOpt{receiverWaitsAt(0x4637240), withRole(RoleDiverged)})...), actRemoveMember, "demo-3", v1alpha1.PhaseScaling,
			"replica demo-3 has not streamed from the primary for 2m0s and never will: its history diverged from the primary's: " +
				"it has WAL at 0/4637240 on timeline 1, which the primary's timeline 2 does not descend from there; replacing it with a fresh clone"},
		{"its checkpoint lies past the fork: re-cloned", edit(three, stuck3,
			members3([]memberOpt{promotedAt(0x4018038)}, nil, []memberOpt{notStreaming, withRole(RoleDiverged), func(m *member) {
				m.db.Checkpoint = postgres.TimelinePoint{Timeline: 1, LSN: 0x4100000}
			}})...), actRemoveMember, "demo-3", v1alpha1.PhaseScaling, ""},
		{"behind the fork on the old timeline: it can still follow, left alone", edit(three, stuck3,
			members3([]memberOpt{promotedAt(0x4018038)}, nil, []memberOpt{receiverWaitsAt(0x4000000)})...), actWait, "demo-3", v1alpha1.PhaseRecovering, ""},
		{"every replica fails, each with proof: the cause may be shared, no re-clone", edit(three, stuckFor(2*time.Minute, "demo-2", "demo-3"),
			members3([]memberOpt{slotLost("demo-2"), slotLost("demo-3")}, []memberOpt{notStreaming}, []memberOpt{notStreaming})...),
			actWait, "demo-2", v1alpha1.PhaseRecovering, ""},
		{"a lone replica with proof is re-cloned", edit(two, stuckFor(2*time.Minute, "demo-2"),
			members2([]memberOpt{slotLost("demo-2")}, []memberOpt{notStreaming})...), actRemoveMember, "demo-2", v1alpha1.PhaseScaling, ""},
		{"one at a time: not while another replica comes up", edit(four, stuck3, fourWithOneStarting()...),
			actWait, "demo-2", v1alpha1.PhaseRecovering, ""},
		{"a replica stuck without proof is not coming up: it does not hold the proven one's re-clone", edit(three,
			stuckFor(2*time.Minute, "demo-2", "demo-3"),
			members3([]memberOpt{slotLost("demo-3")}, []memberOpt{notReady, receiverBehindItsReplay}, []memberOpt{notStreaming})...),
			actRemoveMember, "demo-3", v1alpha1.PhaseScaling, ""},
		{"back-off: a re-clone 30 s ago holds the next", edit(three, withAll(stuck3, func(in *planInput) {
			in.safety = safetyInput{recloneAt: now.Add(-30 * time.Second), reclones: 1}
		}), members3([]memberOpt{slotLost("demo-3")}, nil, []memberOpt{notStreaming})...), actWait, "demo-3", v1alpha1.PhaseRecovering, ""},
		{"back-off over: re-cloned", edit(three, withAll(stuck3, func(in *planInput) {
			in.safety = safetyInput{recloneAt: now.Add(-61 * time.Second), reclones: 1}
		}), members3([]memberOpt{slotLost("demo-3")}, nil, []memberOpt{notStreaming})...), actRemoveMember, "demo-3", v1alpha1.PhaseScaling, ""},
		{"not judged while the primary is unhealthy", edit(three, withAll(stuck3, unreachableFor(time.Second, "demo-1")),
			members3([]memberOpt{unreachable}, nil, []memberOpt{notStreaming})...), actWait, "demo-1", v1alpha1.PhaseRecovering, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			assert.Equal(t, tt.member, got.member, "reason: %s", got.reason)
			assert.Equal(t, tt.phase, phaseOf(tt.in.cluster, tt.in.obs, got))
			assert.Equal(t, tt.kind == actRemoveMember, got.reclone)
			if tt.reason != "" {
				assert.Equal(t, tt.reason, got.reason)
			}
		})
	}
}

func TestStreamNotices(t *testing.T) {
	known := readyInStatus("demo-1", "demo-2", "demo-3")
	three := testCluster(3, initialized("demo-1", 3), known)
	tests := []struct {
		name    string
		in      planInput
		message string
	}{
		{"unproven", edit(three, stuckFor(2*time.Minute, "demo-3"),
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica), notStreaming)),
			"replicas cannot stream from the primary demo-1: demo-3: no proof that its WAL is gone or its history diverged; " +
				"not re-cloning: without proof the operator deletes no volume; fix the cause, or delete a replica's volume claim to re-clone it"},
		{"shared", edit(three, stuckFor(2*time.Minute, "demo-2", "demo-3"),
			testMember(three, 1, up(RolePrimary), slotLost("demo-3")), testMember(three, 2, up(RoleReplica), notStreaming), testMember(three, 3, up(RoleReplica), notStreaming)),
			"replicas cannot stream from the primary demo-1: demo-2: no proof that its WAL is gone or its history diverged; " +
				"demo-3: its slot demo_3 on the primary was invalidated (wal_status lost): the WAL it needs is gone; not re-cloning any: " +
				"no replica streams, so the cause may be shared (authentication, DNS, the primary itself); fix the cause, or delete a replica's volume claim to re-clone it"},
		{"unproven, its receiver behind its replay", edit(three, stuckFor(2*time.Minute, "demo-3"),
			testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica), notReady, receiverBehindItsReplay)),
			"replicas cannot stream from the primary demo-1: demo-3: its WAL receiver streams but has received WAL up to 0/4000000 only, " +
				"short of the 0/4000148 it replayed; no proof that its WAL is gone or its history diverged; " +
				"not re-cloning: without proof the operator deletes no volume; fix the cause, or delete a replica's volume claim to re-clone it"},
		{"busy", edit(testCluster(4, initialized("demo-1", 4)), stuckFor(2*time.Minute, "demo-3"), fourWithOneStarting()...),
			"replicas cannot stream from the primary demo-1: demo-3: its slot demo_3 on the primary was invalidated (wal_status lost): " +
				"the WAL it needs is gone; re-cloning one replica at a time: waiting for demo-2"},
		{"back-off", edit(three, withAll(stuckFor(2*time.Minute, "demo-3"), func(in *planInput) {
			in.safety = safetyInput{recloneAt: now, reclones: 2}
		}), testMember(three, 1, up(RolePrimary), slotLost("demo-3")), testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica), notStreaming)),
			"replicas cannot stream from the primary demo-1: demo-3: its slot demo_3 on the primary was invalidated (wal_status lost): " +
				"the WAL it needs is gone; re-cloning demo-3 after a back-off since the last re-clone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := safetyNotices(tt.in)
			require.Len(t, ns, 1)
			assert.Equal(t, v1alpha1.ConditionDegraded, ns[0].condition)
			assert.Equal(t, reasonReplicasCannotStream, ns[0].reason)
			assert.Equal(t, tt.message, ns[0].message)
		})
	}
	healthy := failoverInput(three, testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)), testMember(three, 3, up(RoleReplica)))
	assert.Empty(t, safetyNotices(healthy))
}

// fourWithOneStarting: demo-2 comes up (a re-clone's replacement, say),
// demo-3 cannot stream and its slot is lost, demo-4 streams.
func fourWithOneStarting() []*member {
	pgc := testCluster(4)
	return []*member{testMember(pgc, 1, up(RolePrimary), slotLost("demo-3")), testMember(pgc, 2, starting(RoleReplica)),
		testMember(pgc, 3, up(RoleReplica), notStreaming), testMember(pgc, 4, up(RoleReplica))}
}

// TestSharedCauseHoldsRecloning: when the primary's replication role
// lacks the password the replicas log in with, even a lone replica with
// proof is not re-cloned (the password is repaired first, planPasswords).
func TestSharedCauseHoldsRecloning(t *testing.T) {
	two := testCluster(2, initialized("demo-1", 2))
	in := edit(two, withAll(stuckFor(2*time.Minute, "demo-2"), func(in *planInput) { in.obs.creds.replicationStale = true }),
		testMember(two, 1, up(RolePrimary), slotLost("demo-2")), testMember(two, 2, up(RoleReplica), notStreaming))
	_, ok := planStuckReplicas(in)
	assert.False(t, ok)
	assert.Equal(t, "the primary's replication role does not have the password the replicas log in with", diagnoseStreaming(in).shared)
}

func TestRecloneBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute,
		6: 30 * time.Minute, 50: 30 * time.Minute} {
		assert.Equal(t, want, recloneBackoff(n), "%d re-clones", n)
	}
}

// TestStuckReplicaActor: with the fakes, a replica that stopped streaming
// is reported once (Degraded, one Warning Event) and its volume kept; once
// the primary reports its slot lost it is re-cloned, and the back-off is
// remembered.
func TestStuckReplicaActor(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3), readyInStatus("demo-1", "demo-2", "demo-3"))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)),
		testMember(pgc, 3, up(RoleReplica), notStreaming))
	rec := recordEvents(w)
	w.pass()
	w.c.notStreamingSince["demo-3"] = time.Now().Add(-2 * time.Minute)
	for range 3 {
		w.pass()
	}
	cond := findCondition(w.current().Status.Conditions, v1alpha1.ConditionDegraded)
	require.NotNil(t, cond)
	assert.Equal(t, reasonReplicasCannotStream, cond.Reason)
	assert.Equal(t, 1, warnings(rec, reasonReplicasCannotStream), "one Event, not one per pass")
	for _, step := range w.log.writes() {
		assert.NotContains(t, step, "delete persistentvolumeclaims")
	}

	w.db.Update(memberIP(1), func(s *dbfake.Server) {
		s.Slots[postgres.SlotName("demo-3")] = postgres.Slot{Name: postgres.SlotName("demo-3"), Type: "physical", WALStatus: "lost"}
	})
	w.log.reset()
	w.pass()
	assert.Equal(t, []string{"delete pods demo-3", "delete persistentvolumeclaims demo-3-data",
		"sql DropSlot @demo-1 demo_3", statusWrite}, w.log.writes())
	assert.Equal(t, 1, w.c.safety.reclones)
	assert.False(t, w.c.safety.recloneAt.IsZero())
}

// TestDivergedReplicaFlickeringStreamingIsStillStuck: a replica whose
// history left the primary's restarts its WAL receiver over and over and
// reads "streaming" in most passes. Its not-streaming clock must run on
// through those passes, so the re-clone its proof allows comes; a replica
// that truly streams stops the clock.
func TestDivergedReplicaFlickeringStreamingIsStillStuck(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), readyInStatus("demo-1", "demo-2"))
	c, _, clk := heartbeatActor(pgc)
	pass := func(receiver string, diverged bool) *observation {
		replica := []memberOpt{up(RoleReplica), receiverWaitsAt(0x4637240)}
		if !diverged {
			replica = append(replica, receiverWaitsAt(0x4000000))
		}
		replica = append(replica, func(m *member) { m.db.ReceiverStatus = receiver })
		obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary), promotedAt(0x4018038)), testMember(pgc, 2, replica...))
		c.trackHealth(clk.Now(), obs)
		return obs
	}

	start := clk.Now()
	pass("waiting", true)
	for range 12 {
		clk.Step(5 * time.Second)
		pass("streaming", true)
	}
	require.Equal(t, start, c.notStreamingSince["demo-2"], "the clock runs on while the diverged receiver reads streaming")

	in := edit(pgc, func(in *planInput) { in.now, in.notStreamingSince = clk.Now(), c.notStreamingSince },
		testMember(pgc, 1, up(RolePrimary), promotedAt(0x4018038)),
		testMember(pgc, 2, up(RoleReplica), receiverWaitsAt(0x4637240), func(m *member) { m.db.ReceiverStatus = "streaming" }))
	act, ok := planStuckReplicas(in)
	require.True(t, ok, "re-cloned once stuck for the timeout")
	assert.Equal(t, "demo-2", act.member)
	assert.True(t, act.reclone)

	pass("streaming", false)
	assert.NotContains(t, c.notStreamingSince, "demo-2", "a replica behind the fork that streams stops the clock")
}

// TestReceiverBehindItsReplayIsNotStreaming: a receiver that reads
// "streaming" while it has received less than the standby replayed fails
// the readiness probe; the operator's clock must run for it too, or the
// replica is neither Ready nor ever stuck.
func TestReceiverBehindItsReplayIsNotStreaming(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), readyInStatus("demo-1", "demo-2"))
	c, _, clk := heartbeatActor(pgc)
	pass := func(opts ...memberOpt) {
		obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, append([]memberOpt{up(RoleReplica)}, opts...)...))
		c.trackHealth(clk.Now(), obs)
	}
	start := clk.Now()
	pass(receiverBehindItsReplay)
	clk.Step(time.Minute)
	pass(receiverBehindItsReplay)
	assert.Equal(t, start, c.notStreamingSince["demo-2"], "behind its replay: not streaming")

	pass(receiverBehindItsReplay, func(m *member) { m.db.ReceivedLSN = m.db.ReplayedLSN })
	assert.NotContains(t, c.notStreamingSince, "demo-2", "caught up with its replay: streaming")
}
