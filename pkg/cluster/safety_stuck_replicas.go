package cluster

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// A replica that does not stream is re-cloned (its volume deleted, a new
// member cloned) only with proof that it never will stream again, from
// what PostgreSQL reports:
//   - its slot on the primary was invalidated (wal_status lost: it fell
//     behind by more than max_slot_wal_keep_size), or the WAL it needs
//     next is older than the primary's oldest segment: the WAL is gone
//     (members have no WAL archive to fetch it from);
//   - its history left the primary's: it holds WAL, at a position and on
//     a timeline it reports exactly, that the primary's timeline history
//     does not contain (an async failover promoted a replica behind it).
//
// Many causes of a replica not streaming are shared and pass (DNS, a
// password change the pods have not seen, the primary's own trouble);
// re-cloning does not fix them and would throw away, member after member,
// the copies the cluster could still fail over to. So: never while every
// replica fails (or the replication role lacks the replicas' password),
// one member at a time, and with a growing back-off between re-clones.
// Otherwise the cluster reports Degraded, reason ReplicasCannotStream.

// stuckTimeout is how long a replica may fail to stream from a healthy
// primary before the operator looks for proof that it never will.
const stuckTimeout = time.Minute

// reasonReplicasCannotStream is the Degraded reason and Event reason.
const reasonReplicasCannotStream = "ReplicasCannotStream"

// recloneBackoff is the least time between two re-clones: nothing after the
// first since every replica last streamed, then from 1 min doubling to 30.
func recloneBackoff(reclones int) time.Duration {
	if reclones == 0 {
		return 0
	}
	return min(time.Minute<<min(reclones-1, 5), 30*time.Minute)
}

type stuckReplica struct {
	m     *member
	proof string // why it can never stream from the primary again; "" unproven
}

// streamDiagnosis is what the replicas that cannot stream say, and what
// the operator may do about it.
type streamDiagnosis struct {
	primary *member
	stuck   []stuckReplica // not streaming for stuckTimeout, by ordinal
	shared  string         // why the cause may be shared ("" when it looks individual)
	busy    string         // another member is coming up: one re-clone at a time
	backoff bool           // the last re-clone was too recent
	next    *stuckReplica  // the replica to re-clone now
}

// diagnoseStreaming is pure: planStuckReplicas acts on it, streamNotices
// reports it.
func diagnoseStreaming(in planInput) streamDiagnosis {
	var d streamDiagnosis
	p := in.obs.members.live().primary()
	if !in.cluster.Status.Initialized || p == nil || !p.healthy() {
		return d
	}
	d.primary = p
	replicas := replicasOf(in, p)
	for _, m := range replicas {
		since := in.notStreamingSince[m.name]
		if m.db != nil && !since.IsZero() && in.now.Sub(since) >= stuckTimeout {
			d.stuck = append(d.stuck, stuckReplica{m: m, proof: replicaProof(p, m)})
		}
	}
	if len(d.stuck) == 0 {
		return d
	}
	d.shared = sharedCause(in, replicas)
	candidate := d.firstProven()
	if candidate == nil || d.shared != "" {
		return d
	}
	for _, m := range replicas {
		if m != candidate.m && !m.healthy() && !d.isStuck(m) {
			d.busy = m.name
			return d
		}
	}
	if in.now.Sub(in.safety.recloneAt) < recloneBackoff(in.safety.reclones) {
		d.backoff = true
		return d
	}
	d.next = candidate
	return d
}

// replicasOf: the live members other than the primary that hold this
// cluster's database.
func replicasOf(in planInput, p *member) []*member {
	var out []*member
	for _, m := range in.obs.members.live() {
		if m != p && !in.obs.isForeign(m.name) {
			out = append(out, m)
		}
	}
	return out
}

// sharedCause says why the replicas' failure may not be their own.
func sharedCause(in planInput, replicas []*member) string {
	if in.obs.creds.replicationStale {
		return "the primary's replication role does not have the password the replicas log in with"
	}
	if len(replicas) < 2 {
		return "" // a lone replica: only its proof speaks
	}
	for _, m := range replicas {
		if m.streaming() {
			return ""
		}
	}
	return "no replica streams, so the cause may be shared (authentication, DNS, the primary itself)"
}

// streamsFrom says whether replica m streams from the primary p, for the
// clock of how long it has not (trackHealth). Its receiver's word is not
// enough: a replica whose history left the primary's restarts its receiver
// every few hundred ms (it streams its old timeline to the fork, the
// primary ends it there, it retries) and reads "streaming" most of the
// time, so the clock kept restarting and its re-clone never came. A
// replica with proof that it can never stream from p does not stream, nor
// does one whose receiver stays behind what it replayed (caughtUp): its
// readiness probe fails, so it is never Ready, and counted as streaming it
// was never stuck either, only "busy", which held every re-clone.
func streamsFrom(p, m *member) bool {
	if !m.caughtUp() {
		return false
	}
	if p == nil || p == m || !p.healthy() {
		return true
	}
	return replicaProof(p, m) == ""
}

// replicaProof says why m can never stream from primary p again, or "".
func replicaProof(p, m *member) string {
	pr, r := p.db, m.db
	slot := postgres.SlotName(m.name)
	if pr.SlotWALStatus[slot] == "lost" {
		return fmt.Sprintf("its slot %s on the primary was invalidated (wal_status lost): the WAL it needs is gone", slot)
	}
	if pos := r.Position(); pos != 0 && pr.OldestWAL != 0 && pos < pr.OldestWAL {
		return fmt.Sprintf("it needs WAL from %s, which is gone from the primary", pos)
	}
	return divergedProof(p, m)
}

// divergedProof says why m holds WAL that primary p never had, or "". It
// needs no answer from m itself: what m replayed in earlier passes proves
// it too (safety_replayed.go), while m is frozen or down.
func divergedProof(p, m *member) string {
	pr := p.db
	points := []postgres.TimelinePoint{m.replayedBefore.point}
	if r := m.db; r != nil {
		points = append(points, postgres.TimelinePoint{Timeline: r.ReceiverTimeline, LSN: r.ReplayedLSN}, r.Checkpoint, r.MinRecovery)
	}
	for _, pt := range points {
		if off, ok := pr.OffHistory(pt); ok && off {
			return fmt.Sprintf("its history diverged from the primary's: it has WAL at %s on timeline %d, "+
				"which the primary's timeline %d does not descend from there", pt.LSN, pt.Timeline, pr.Timeline)
		}
	}
	if replayedPastPrimary(p, m) { // safety_replayed.go
		return fmt.Sprintf("its history diverged from the primary's: it replayed WAL up to %s, "+
			"past the primary's end of WAL at %s, which it never had", m.replayedBefore.furthest, pr.CurrentLSN)
	}
	return ""
}

func (d streamDiagnosis) firstProven() *stuckReplica {
	for i := range d.stuck {
		if d.stuck[i].proof != "" {
			return &d.stuck[i]
		}
	}
	return nil
}

// isStuck: m has not streamed for stuckTimeout, proven or not. Such a
// member is not coming up, so it does not hold another's re-clone: one
// stuck for a cause nobody found would hold it for good.
func (d streamDiagnosis) isStuck(m *member) bool {
	return slices.ContainsFunc(d.stuck, func(s stuckReplica) bool { return s.m == m })
}

// planStuckReplicas replaces one replica that has proof it can never
// stream again.
func planStuckReplicas(in planInput) (action, bool) {
	d := diagnoseStreaming(in)
	if d.next == nil {
		return action{}, false
	}
	m := d.next.m
	return action{kind: actRemoveMember, member: m.name, reclone: true, reason: fmt.Sprintf(
		"replica %s has not streamed from the primary for %s and never will: %s; replacing it with a fresh clone",
		m.name, in.now.Sub(in.notStreamingSince[m.name]).Round(time.Second), d.next.proof)}, true
}

// streamNotices reports replicas that cannot stream: Degraded, reason
// ReplicasCannotStream, with what each reports and what the operator does.
func streamNotices(in planInput) []notice {
	d := diagnoseStreaming(in)
	if len(d.stuck) == 0 {
		return nil
	}
	var parts, stuck []string
	for _, s := range d.stuck {
		proof := s.proof
		if proof == "" {
			proof = behindItsReplay(s.m) + "no proof that its WAL is gone or its history diverged"
		}
		parts = append(parts, s.m.name+": "+proof)
		stuck = append(stuck, s.m.name)
	}
	state, doing := d.state()
	return []notice{{
		condition: v1alpha1.ConditionDegraded, status: metav1.ConditionTrue, reason: reasonReplicasCannotStream,
		key:     reasonReplicasCannotStream + "/" + strings.Join(stuck, ",") + "/" + state,
		message: fmt.Sprintf("replicas cannot stream from the primary %s: %s; %s", d.primary.name, strings.Join(parts, "; "), doing),
	}}
}

// behindItsReplay says what a connected receiver that is not caught up
// lacks, for the notice of a replica stuck without proof ("" otherwise).
func behindItsReplay(m *member) string {
	if !m.streaming() || m.caughtUp() {
		return ""
	}
	return fmt.Sprintf("its WAL receiver streams but has received WAL up to %s only, short of the %s it replayed; ",
		m.db.ReceivedLSN, m.db.ReplayedLSN)
}

// state names what the operator does about the stuck replicas, and says it.
func (d streamDiagnosis) state() (string, string) {
	switch {
	case d.next != nil:
		return "recloning", "re-cloning " + d.next.m.name
	case d.shared != "":
		return "shared", "not re-cloning any: " + d.shared + "; fix the cause, or delete a replica's volume claim to re-clone it"
	case d.firstProven() == nil:
		return "unproven", "not re-cloning: without proof the operator deletes no volume; " +
			"fix the cause, or delete a replica's volume claim to re-clone it"
	case d.busy != "":
		return "busy", "re-cloning one replica at a time: waiting for " + d.busy
	default:
		return "backoff", "re-cloning " + d.firstProven().m.name + " after a back-off since the last re-clone"
	}
}
