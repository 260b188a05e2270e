package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// reconcile is one pass: observe → plan → apply one action → status. It
// returns whether the action changed something, so another pass may follow.
func (c *Cluster) reconcile(ctx context.Context, pgc *v1alpha1.PostgresCluster) (bool, error) {
	pgc = c.freshest(pgc)
	logger := klog.FromContext(ctx)
	if pending := c.expectations.pending(c.cfg.Clock.Now(), c.cfg.Listers, pgc.Namespace); pending != "" {
		// The informer caches have not seen our last change yet: planning on
		// them would repeat it.
		logger.V(4).Info("Waiting for the cache", "expecting", pending)
		return false, nil
	}
	if !pgc.Status.Initialized { // a namesake's leftovers can only precede the first seed
		left, err := c.leftovers(pgc) // leftovers.go
		if err != nil {
			return false, err
		}
		if len(left) > 0 {
			return false, c.waitForLeftovers(ctx, pgc, left)
		}
	}
	obs, err := c.observe(ctx, pgc)
	if err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		// The actor is stopping (leadership lost, cluster gone, shutdown):
		// the probes failed for that, not because members are down, and
		// nothing may be decided or written from them.
		return false, err
	}
	in := c.planInput(ctx, pgc, obs)
	c.followPrimary(ctx, pgc, obs)               // fence_heartbeat.go
	act := c.withNotices(ctx, pgc, in, plan(in)) // safety_notices.go
	logger.V(3).Info("Planned", "action", act.kind, "member", act.member, "reason", act.reason)

	progressed, actErr := c.apply(ctx, pgc, obs, act)
	if actErr == nil {
		c.rememberSeedRetry(act)
	}
	if actErr != nil {
		actErr = fmt.Errorf("%s: %w", strings.TrimSpace(string(act.kind)+" "+act.member), actErr)
	}
	// The action may have written status (an ordinal, initialized): build
	// on that, not on the object the pass started from.
	pgc = c.freshest(pgc)
	want := computeStatus(pgc, obs, act, actErr)
	c.observeMetrics(pgc, obs, &want)        // metrics.go
	c.collectStats(ctx, obs)                 // stats.go: off the pass
	if c.holdStatus(pgc, obs, act, actErr) { // status_hold.go
		logger.V(3).Info("Status held: a member this actor has never heard from failed its probe within the unreachable grace")
		return progressed, nil
	}
	if err := c.updateStatus(ctx, pgc, want); err != nil {
		return progressed, err
	}
	return progressed, actErr
}

// freshest prefers the object this actor last wrote when the informer has
// not delivered it yet, so status the actor relies on (initialized, the
// last ordinal, the primary) never goes backwards.
func (c *Cluster) freshest(pgc *v1alpha1.PostgresCluster) *v1alpha1.PostgresCluster {
	if c.written == nil || c.written.UID != pgc.UID {
		return pgc
	}
	seen, err1 := strconv.ParseUint(pgc.ResourceVersion, 10, 64)
	mine, err2 := strconv.ParseUint(c.written.ResourceVersion, 10, 64)
	if err1 == nil && err2 == nil && mine > seen {
		out := pgc.DeepCopy()
		out.Status = *c.written.Status.DeepCopy()
		return out
	}
	// Whatever the versions say, what the actor recorded never goes back.
	if (pgc.Status.Initialized || !c.written.Status.Initialized) && pgc.Status.LastOrdinal >= c.written.Status.LastOrdinal {
		return pgc // the usual pass: no copy of the whole object
	}
	out := pgc.DeepCopy()
	out.Status.Initialized = out.Status.Initialized || c.written.Status.Initialized
	out.Status.LastOrdinal = max(out.Status.LastOrdinal, c.written.Status.LastOrdinal)
	return out
}

// paramsReloadGrace is how long after ALTER SYSTEM and pg_reload_conf()
// a member's pending_restart is not trusted to be current: the postmaster
// and the probing backend take the reload asynchronously.
const paramsReloadGrace = 3 * time.Second

// planInput adds to the observation what the actor knows of SQL changes
// it has already applied.
func (c *Cluster) planInput(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) planInput {
	in := planInput{cluster: pgc, obs: obs, image: c.cfg.imageFor(pgc), now: c.cfg.Clock.Now()}
	c.rememberReplays(obs) // safety_replayed.go: before trackHealth, which asks for proofs
	c.trackHealth(in.now, obs)
	c.trackAlive(in.now, pgc, obs) // failover_fence.go
	in.lastAlive = c.lastAlive
	c.handoverSettled(obs) // metrics.go
	in.unreachableSince, in.lostSince, in.restarts = c.unreachableSince, c.lostSince, c.restarts
	in.notStreamingSince = c.notStreamingSince
	c.trackPrimaryRestarts(in.now, obs)
	in.primaryRestarts = c.primaryRestarts
	in.inPlaceFailed = c.trackInPlace(pgc, obs) // roll_in_place.go
	in.seedRetriedWith = c.seedRetries
	c.safetyInput(pgc, obs, &in) // safety_input.go
	in.growthRefused = c.growthRefused.refusalFor(pgc)
	in.pdbRefused = c.pdbRefusal.current(in.now)
	c.rememberPrimary(obs)
	primary := obs.members.primary()
	in.replicationDone = primary == nil || !primary.healthy() ||
		c.applied[appliedKey("replication", primary)] == replicationFingerprint(pgc, obs)
	want := paramsFingerprint(pgc)
	for _, m := range obs.members {
		if m.db != nil && c.applied[appliedKey("params", m)] != want {
			in.paramsPending = append(in.paramsPending, m.name)
		}
	}
	in.paramsRejected = c.rejections.summary(want, obs.members)
	in.paramsReloading = in.now.Sub(c.paramsChangedAt) < paramsReloadGrace
	return in
}

// rememberSeedRetry keeps the spec of a failed seed pod deleted to retry
// it: should the spec change before the pod is made again, its volume is
// replaced too (planRetriedSeed). In memory only: after an operator restart
// the seed is retried on its volume, as before.
func (c *Cluster) rememberSeedRetry(act action) {
	switch {
	case act.seedSpec != "":
		if c.seedRetries == nil {
			c.seedRetries = map[string]string{}
		}
		c.seedRetries[act.member] = act.seedSpec
	case act.kind == actReplaceSeed:
		delete(c.seedRetries, act.member)
	}
}

// appliedKey identifies an SQL change on one incarnation of a member's pod:
// a recreated pod has a new UID, so the change is checked again.
func appliedKey(what string, m *member) string {
	return what + "/" + string(m.pod.UID)
}

// silentSince is the earliest time m is known not to have answered since:
// the start of this pass's failed probe, or of the heartbeat's failing
// beats when they began earlier. Counting from the end of the probe
// instead added its timeout (up to probeTimeout) to every failover's
// detection, enough on a node's power loss to miss the self-fence wait.
func (c *Cluster) silentSince(m *member, now, probedAt time.Time) time.Time {
	since := now
	if !probedAt.IsZero() && probedAt.Before(since) {
		since = probedAt
	}
	if beat := c.heartbeat.silentSince(m.name); !beat.IsZero() && beat.Before(since) {
		since = beat
	}
	return since
}

// trackHealth remembers since when each member's PostgreSQL has been
// unreachable and since when the primary has been lost; failover waits on
// both. They live in memory: an operator restart only restarts the clocks,
// which delays a failover, never hastens one.
func (c *Cluster) trackHealth(now time.Time, obs *observation) {
	p := obs.members.live().primary()
	for _, m := range obs.members {
		if m.healthy() {
			delete(c.seedRetries, m.name)
		}
		if stayedUp(m, now) { // plan_primary_restart.go
			delete(c.restarts, m.name)
		}
		if m.db != nil && m.db.InRecovery && !streamsFrom(p, m) {
			if c.notStreamingSince[m.name].IsZero() {
				c.notStreamingSince[m.name] = now
			}
		} else {
			delete(c.notStreamingSince, m.name)
		}
		if m.db != nil {
			c.heard[m.name] = true // status_hold.go
		}
		if m.dbErr != nil && postgres.IsUnreachable(m.dbErr) {
			if since := c.silentSince(m, now, obs.probedAt); c.unreachableSince[m.name].IsZero() || since.Before(c.unreachableSince[m.name]) {
				c.unreachableSince[m.name] = since
			}
		} else {
			delete(c.unreachableSince, m.name)
		}
	}
	for name := range c.heard {
		if obs.members.byName(name) == nil {
			delete(c.heard, name) // scaled away: one created again is new to this actor
		}
	}
	for name := range c.lostSince {
		if p == nil || p.name != name {
			delete(c.lostSince, name)
		}
	}
	if p == nil {
		return
	}
	if lost, _ := primaryLost(p, now, c.unreachableSince[p.name]); !lost {
		delete(c.lostSince, p.name)
	} else if c.lostSince[p.name].IsZero() {
		c.lostSince[p.name] = now
	}
}
