package cluster

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Promoting past a primary nobody confirms dead. A fenced primary's pod is
// normally gone, or its container terminated, within seconds: the kubelet
// confirms it, and promotion follows at once (planFailover). When its node
// is cut off, no confirmation ever comes; the old primary instead fences
// itself once it has heard from neither the operator nor a replica for
// its lease T (fence_probe.go). The operator promotes past it once T plus
// fenceMargin has passed since it was last known alive, by then it has
// stopped taking writes.

// fenceMargin covers what the old primary needs after its lease runs out
// to stop taking writes: up to one probe period (1 s), psql's run and the
// start of a fast shutdown. Clocks only need to run at the same rate, not
// agree: both ends count from their own reading of the same events.
const fenceMargin = 2 * time.Second

// reasonAwaitingSelfFence is the reason of PrimaryAvailable=False and of
// the Warning Event while the operator waits for a primary to fence itself.
const reasonAwaitingSelfFence = "AwaitingSelfFence"

// leaseHolder is the member whose lease matters: the labelled primary, or
// else a fenced primary whose end is not confirmed.
func leaseHolder(ms members) *member {
	if p := labelledPrimary(ms); p != nil {
		return p
	}
	for _, m := range ms {
		if m.pod != nil && m.fenced() && !PostgresExited(m.pod) {
			return m
		}
	}
	return nil
}

// trackAlive remembers when the lease holder was last known alive, on the
// actor's clock: it answered a probe, a beat of the heartbeat may have
// reached it, or a standby heard from it (and so replied to it, within a
// status interval). Like trackHealth it lives in memory; an actor that has
// no record starts one now, which delays a promotion past an unconfirmed
// primary, never hastens it.
func (c *Cluster) trackAlive(now time.Time, pgc *v1alpha1.PostgresCluster, obs *observation) {
	h := leaseHolder(obs.members)
	for name := range c.lastAlive {
		if h == nil || name != h.name {
			delete(c.lastAlive, name)
		}
	}
	if h == nil {
		c.heartbeat.forget("")
		return
	}
	c.heartbeat.forget(h.name)
	seen := c.lastAlive[h.name]
	if seen.IsZero() {
		seen = now
	}
	if h.db != nil {
		seen = answeredBy(h, now)
	}
	for _, t := range []time.Time{beatsHeard(&c.heartbeat, h), replicasHeard(pgc, obs, h, now)} {
		if t.After(seen) {
			seen = t
		}
	}
	c.lastAlive[h.name] = seen
}

// beatsHeard bounds the proof of life the heartbeat gave p: the end of
// the last beat that may have reached it, less the beat discount its fence
// probe counts beats with (fenceBeatDiscount). Zero when none did.
func beatsHeard(hb *heartbeat, p *member) time.Time {
	t := hb.reachedAt(p.name)
	if t.IsZero() {
		return t
	}
	return t.Add(-podBeatDiscount(p.pod))
}

// replicasHeard bounds when a standby's reply last reached p. A streaming
// WAL receiver replies every status interval whether or not it hears from
// its primary, so the last message it heard does not end its replies by
// itself; but an idle receiver pings its primary after half its
// wal_receiver_timeout of silence, and would have heard back, had the link
// been up. So a link that failed did so within that half of the last
// message (by the standby's clock, as an age: no clock needs to agree),
// and the last reply across it within a status interval more. A receiver
// that hears nothing but whose replies still get through (a one-way
// partition) is not covered: it gives up after wal_receiver_timeout, and
// until then may keep the old primary alive. p's fence probe counts a reply
// as proof only from its send time less its reply discount
// (fenceReplyDiscount), and so does this bound. Zero when no standby heard.
func replicasHeard(pgc *v1alpha1.PostgresCluster, obs *observation, p *member, now time.Time) time.Time {
	gap, bounded := receiverPingGap(pgc)
	discount := podReplyDiscount(p.pod)
	var last time.Time
	for _, m := range obs.members {
		if m == p || m.db == nil || !m.db.InRecovery || !m.db.ReceiverHeard {
			continue
		}
		t := now.Add(-discount) // no ping: the link may have failed just now
		if bounded {
			t = answeredBy(m, now).Add(-m.db.ReceiverMessageAge).Add(gap + replyInterval - discount)
		}
		if t.After(last) {
			last = t
		}
	}
	return last
}

// answeredBy is when m's probe answered, or now when that is unknown. The
// ages a probe reports count back from its answer, not from the end of
// the observation, which waits for the slowest probe: a primary cut off
// holds a pass for its whole connect timeout, and counting a standby's
// age from then would put the cut that much later.
func answeredBy(m *member, now time.Time) time.Time {
	if m.answeredAt.IsZero() || m.answeredAt.After(now) {
		return now
	}
	return m.answeredAt
}

// replyInterval is walReceiverStatusInterval as a duration.
const replyInterval = time.Second

// receiverPingGap is half the members' wal_receiver_timeout: how long an
// idle receiver waits before it pings its primary. False when it never
// pings (0) or the value cannot be read.
func receiverPingGap(pgc *v1alpha1.PostgresCluster) (time.Duration, bool) {
	d, ok := parseGUCDuration(desiredParameters(pgc)["wal_receiver_timeout"], time.Millisecond)
	return d / 2, ok && d > 0
}

// gucDuration is a PostgreSQL time setting: a number and an optional unit.
var gucDuration = regexp.MustCompile(`^\s*([0-9]+)\s*(us|ms|s|min|h|d)?\s*$`)

// parseGUCDuration reads a time setting whose bare numbers are in unit.
func parseGUCDuration(v string, unit time.Duration) (time.Duration, bool) {
	m := gucDuration.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, false
	}
	if u, ok := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]; ok {
		unit = u
	}
	return time.Duration(n) * unit, true
}

// selfFenceDue is when the operator may promote past the unconfirmed,
// fenced primary m, and false when m cannot fence itself (its pod has no
// fence probe: made before self-fencing existed).
func selfFenceDue(in planInput, m *member) (time.Time, bool) {
	t, ok := podFenceAfter(m.pod)
	if !ok {
		return time.Time{}, false
	}
	seen := in.lastAlive[m.name]
	if seen.IsZero() {
		seen = in.now
	}
	return seen.Add(t + fenceMargin), true
}

// planPastUnconfirmed decides for a fenced primary whose end the kubelet
// has not confirmed. While its lease may run, it waits, saying so; once it
// has fenced itself, it labels a promoted member or promotes one. It
// returns false when neither applies (failover disabled, a pod without the
// probe, nothing to promote): the caller then waits for the pod to go, as
// it always did. A one-member cluster never gets here with a candidate.
func planPastUnconfirmed(in planInput, live members, m *member) (action, bool) {
	due, ok := selfFenceDue(in, m)
	if !ok || in.cluster.Spec.Failover.Disabled || !hasCandidate(live, m) {
		return action{}, false
	}
	if in.now.Before(due) {
		return action{kind: actWait, member: m.name, phase: v1alpha1.PhaseFailingOver,
			reason: awaitingSelfFence(m, due)}, true
	}
	if k := in.obs.safety.kubelet; k.connected() { // fence_kubelet.go
		return action{kind: actWait, member: m.name, phase: v1alpha1.PhaseFailingOver,
			reason: awaitingKubelet(m, k)}, true
	}
	if u := unlabelledPrimary(live); u != nil && u != m {
		return action{kind: actLabelPrimary, member: u.name, phase: v1alpha1.PhaseFailingOver,
			reason: fmt.Sprintf("%s was promoted: routing -rw to it", u.name)}, true
	}
	a, ok := planPromotion(in, live)
	if !ok {
		return action{}, false
	}
	a.reason = fmt.Sprintf("the old primary %s has fenced itself (not heard from since %s, its lease ran out); %s",
		m.name, due.Add(-fenceMargin-mustFenceAfter(m)).UTC().Format(time.TimeOnly), a.reason)
	return a, true
}

// hasCandidate: a member other than m could be promoted (or was).
func hasCandidate(live members, m *member) bool {
	for _, o := range live {
		if o != m && o.running() && o.db != nil {
			return true
		}
	}
	return false
}

func mustFenceAfter(m *member) time.Duration {
	t, _ := podFenceAfter(m.pod)
	return t
}

// awaitingSelfFence names the wait and when it ends. No duration that
// changes every pass: the condition would be rewritten each time.
func awaitingSelfFence(m *member, due time.Time) string {
	return fmt.Sprintf("the old primary %s is fenced but its end is not confirmed (its node may be cut off): "+
		"waiting for the old primary to fence itself; promoting past it at %s (last known alive + "+
		"fenceAfterSeconds %d s + %s)", m.name, due.UTC().Format(time.TimeOnly),
		int(mustFenceAfter(m)/time.Second), fenceMargin)
}

// fenceNotices shows the wait as PrimaryAvailable=False with a Warning
// Event, and asks for a pass when it ends (no API event will say so).
func fenceNotices(in planInput) []notice {
	if labelledPrimary(in.obs.members) != nil || !in.cluster.Status.Initialized {
		return nil
	}
	m := leaseHolder(in.obs.members)
	if m == nil {
		return nil
	}
	due, ok := selfFenceDue(in, m)
	if !ok || in.cluster.Spec.Failover.Disabled || !hasCandidate(in.obs.members.live(), m) {
		return nil
	}
	if !in.now.Before(due) {
		if k := in.obs.safety.kubelet; k.connected() { // fence_kubelet.go
			return []notice{{
				condition: v1alpha1.ConditionPrimaryAvailable, status: metav1.ConditionFalse,
				reason: reasonAwaitingKubelet, key: reasonAwaitingKubelet + "/" + m.name,
				message: awaitingKubelet(m, k), recheck: k.recheck(in.now),
			}}
		}
		return nil
	}
	return []notice{{
		condition: v1alpha1.ConditionPrimaryAvailable, status: metav1.ConditionFalse,
		reason: reasonAwaitingSelfFence, key: reasonAwaitingSelfFence + "/" + m.name,
		message: awaitingSelfFence(m, due), recheck: due.Sub(in.now),
	}}
}

// failoverRecheck is when a lost primary's failover becomes due without
// any API event: the unreachable grace ends. The actor looks again then
// instead of waiting for its reconcile timer.
func failoverRecheck(in planInput) time.Duration {
	p := labelledPrimary(in.obs.members)
	if p == nil || !in.cluster.Status.Initialized || in.cluster.Spec.Failover.Disabled {
		return 0
	}
	since := in.unreachableSince[p.name]
	if since.IsZero() || !p.running() || p.dbErr == nil {
		return 0
	}
	if left := since.Add(unreachableGrace).Sub(in.now); left > 0 {
		return left
	}
	return 0
}
