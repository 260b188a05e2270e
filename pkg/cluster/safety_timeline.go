package cluster

import (
	"k8s.io/apimachinery/pkg/types"
)

// A standby's timeline as its probe reports it can go back: while its WAL
// receiver runs, pg_stat_wal_receiver gives the timeline it streams; once
// the receiver is gone (its primary just died, which is exactly when a
// failover asks), only pg_control's checkpoint and minimum recovery point
// are left, and on a standby those still name the timeline of the last
// restartpoint, minutes behind. A replica that had followed the last
// promotion, and may hold the most WAL, then looks like one that missed it
// and would be passed over (seen in the chaos suite: the replica passed
// over had 248 bytes more WAL than the one promoted, in sync mode).
//
// So the actor remembers the newest timeline each member's reports showed,
// for as long as it is the same pod: within one pod a member's timeline
// only moves forward (a rewind or a fresh copy follows the primary's), and
// a new pod starts the memory afresh. After an operator restart there is
// no memory and the reports alone decide, as before.

// rememberTimelines records this pass's timelines and gives each member the
// newest one its pod has shown.
func (c *Cluster) rememberTimelines(obs *observation) {
	seen := make(map[types.UID]uint32, len(obs.members))
	for _, m := range obs.members {
		if m.pod == nil {
			continue
		}
		tl := max(c.safety.timelines[m.pod.UID], reportedTimeline(m))
		if tl > 0 {
			seen[m.pod.UID] = tl
		}
		m.seenTimeline = tl
	}
	c.safety.timelines = seen // pods gone are forgotten
}
