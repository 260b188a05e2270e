package cluster

import (
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// A standby that an async failover left behind with WAL the new primary
// never had is proven diverged by its receiver's timeline (replicaProof)
// only while its receiver runs. When the fork lies before the segment it
// would restart streaming from, the new primary refuses that start at
// once ("requested starting point ... is not in this server's history"),
// the receiver exits within milliseconds, pg_stat_wal_receiver is empty in
// nearly every probe, and its checkpoint and minimum recovery point still
// lie before the fork. Seen in the e2e suite: the replica stayed unproven,
// never streamed, and was never re-cloned.
//
// What its pod reported earlier proves it instead, two ways:
//   - the furthest WAL it replayed while its receiver streamed the
//     timeline its replay is on (from the old primary): a standby's replay
//     only moves forward, onto the same timeline or a newer one that
//     contains it, so that point stays in its history for good;
//   - the furthest WAL it replayed at all, once the primary's WAL ends
//     before it: a standby on the primary's history has only WAL the
//     primary flushed. This one needs no timeline (an operator restarted
//     after the failover never saw one), but only a position from an
//     earlier probe than the primary's counts: within one pass a healthy
//     standby can replay WAL written after the primary's probe.
//
// Only a former primary rewinds (its WAL past the fork is cut off), and it
// does so in a new pod; still, a pod that reports as a primary forgets what
// it replayed before.

// replayed is what a standby's pod reported replaying.
type replayed struct {
	furthest postgres.LSN           // whatever the timeline
	point    postgres.TimelinePoint // the furthest on the newest timeline its receiver named
}

// rememberReplays gives each member what its pod reported replaying in
// the actor's earlier passes, then adds this pass's reports.
func (c *Cluster) rememberReplays(obs *observation) {
	seen := make(map[types.UID]replayed, len(obs.members))
	for _, m := range obs.members {
		if m.pod == nil {
			continue
		}
		before := c.safety.replayed[m.pod.UID]
		m.replayedBefore = before
		switch {
		case m.db == nil:
			seen[m.pod.UID] = before
		case m.db.InRecovery:
			seen[m.pod.UID] = before.add(m.db)
		}
	}
	c.safety.replayed = seen // pods gone are forgotten
}

// add is r with a standby's report. While its receiver streams, its
// replay runs on a timeline from its last restartpoint's to the one it
// streams; only when those are the same is the replay's own timeline
// known, and the point exact. (A receiver that waits still names the
// timeline it last streamed, while replay may go on from local WAL.)
func (r replayed) add(st *postgres.Status) replayed {
	r.furthest = max(r.furthest, st.ReplayedLSN)
	tl := st.ReceiverTimeline
	if !st.Streaming() || tl == 0 || st.Checkpoint.Timeline != tl {
		return r
	}
	if tl > r.point.Timeline || tl == r.point.Timeline && st.ReplayedLSN > r.point.LSN {
		r.point = postgres.TimelinePoint{Timeline: tl, LSN: st.ReplayedLSN}
	}
	return r
}

// replayedPastPrimary: m replayed, in an earlier pass, WAL past the end of
// primary p's WAL now.
func replayedPastPrimary(p, m *member) bool {
	return !p.db.InRecovery && p.db.CurrentLSN != 0 && m.replayedBefore.furthest > p.db.CurrentLSN
}
