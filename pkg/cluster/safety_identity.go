package cluster

import (
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Identity checks. Every member of a cluster descends from the seed's
// initdb and reports its system identifier; status.systemIdentifier records
// it once the first primary answers (and for clusters made before the
// field existed, from the primary they have). It lives in status, not in
// the actor's memory, because the case it guards against outlives an
// operator restart: a volume claim found by its labels (restored by hand,
// or left from another cluster of the same name) whose pod is recreated on
// it. Derived from memory, the identifier would be taken from whichever
// member is primary after the restart, possibly that very volume.
//
// A member of another database is never promoted, never a slot holder or
// switchover target, never removed by scale-down or re-cloned: its volume
// may hold someone's only copy of that database, so it is reported
// (Degraded, reason SystemIdentifierMismatch, and a Warning Event naming
// the claim) and left for the user to keep or delete.

// reasonSystemIdentifierMismatch is the Degraded reason and Event reason.
const reasonSystemIdentifierMismatch = "SystemIdentifierMismatch"

// foreignSystem says why m's PostgreSQL belongs to another database, or
// "" when it does not, or nothing is known yet.
func foreignSystem(pgc *v1alpha1.PostgresCluster, m *member) string {
	want := pgc.Status.SystemIdentifier
	if want == "" || m.db == nil || m.db.SystemIdentifier == 0 {
		return ""
	}
	if got := strconv.FormatUint(m.db.SystemIdentifier, 10); got != want {
		return fmt.Sprintf("its data has system identifier %s, this cluster's is %s", got, want)
	}
	return ""
}

// markForeign fills obs.safety.foreign from this pass's probes and from
// what the actor saw of each volume claim before, so a foreign member whose
// PostgreSQL is down stays foreign.
func (c *Cluster) markForeign(pgc *v1alpha1.PostgresCluster, obs *observation) {
	if c.safety.foreignVolumes == nil {
		c.safety.foreignVolumes = map[types.UID]string{}
	}
	obs.safety.foreign = map[string]string{}
	for _, m := range obs.members {
		if m.pvc == nil {
			continue
		}
		if why := foreignSystem(pgc, m); why != "" {
			c.safety.foreignVolumes[m.pvc.UID] = why
		} else if m.db != nil {
			delete(c.safety.foreignVolumes, m.pvc.UID) // answered as ours
		}
		if why := c.safety.foreignVolumes[m.pvc.UID]; why != "" {
			obs.safety.foreign[m.name] = why
		}
	}
}

// isForeign reports whether the member holds another database.
func (o *observation) isForeign(name string) bool { return o.safety.foreign[name] != "" }

// onClusterTimeline keeps the candidates on the cluster's last known
// timeline (status.timeline) or later, when there is one: a replica on an
// older timeline has missed a promotion and may hold WAL the cluster's
// history abandoned, so promoting it would lose every commit since. Its
// timeline is the highest any of its reports shows. With no candidate on
// the timeline, all are kept: failover then compares WAL as before.
func onClusterTimeline(candidates []*member, timeline uint32) (kept []*member, refused []string) {
	for _, m := range candidates {
		if standbyTimeline(m) >= timeline {
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		return candidates, nil
	}
	for _, m := range candidates {
		if standbyTimeline(m) < timeline {
			refused = append(refused, fmt.Sprintf("not %s: it is on timeline %d, behind the cluster's %d",
				m.name, standbyTimeline(m), timeline))
		}
	}
	return kept, refused
}

// standbyTimeline is the newest timeline a standby's reports show, this
// pass's or, for the same pod, an earlier one's (safety_timeline.go).
func standbyTimeline(m *member) uint32 {
	return max(reportedTimeline(m), m.seenTimeline)
}

// reportedTimeline is the newest timeline this pass's report shows.
func reportedTimeline(m *member) uint32 {
	st := m.db
	if st == nil {
		return 0
	}
	return max(st.Timeline, st.ReceiverTimeline, st.Checkpoint.Timeline, st.MinRecovery.Timeline)
}

// recordSystemIdentifier sets status.systemIdentifier from a healthy
// primary of an initialized cluster when it is not recorded yet. It is
// never changed afterwards.
func recordSystemIdentifier(st *v1alpha1.PostgresClusterStatus, obs *observation) {
	p := obs.members.primary()
	if st.SystemIdentifier != "" || !st.Initialized || p == nil || !p.healthy() || p.db.SystemIdentifier == 0 {
		return
	}
	st.SystemIdentifier = strconv.FormatUint(p.db.SystemIdentifier, 10)
}

// foreignNotices reports each member of another database, naming its
// volume claim: Degraded, and a Warning Event once per claim.
func foreignNotices(in planInput) []notice {
	var out []notice
	for _, m := range in.obs.members {
		why := in.obs.safety.foreign[m.name]
		if why == "" || m.pvc == nil {
			continue
		}
		out = append(out, notice{
			condition: v1alpha1.ConditionDegraded, status: metav1.ConditionTrue,
			reason: reasonSystemIdentifierMismatch, key: reasonSystemIdentifierMismatch + "/" + string(m.pvc.UID),
			message: fmt.Sprintf("volume claim %s (member %s) holds another database: %s; it is not made part of "+
				"the cluster and never deleted automatically; delete the claim and pod %s to replace the member "+
				"with a fresh clone", m.pvc.Name, m.name, why, m.name),
		})
	}
	return out
}
