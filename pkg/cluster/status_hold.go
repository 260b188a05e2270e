package cluster

import (
	"slices"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// holdStatus reports whether this pass leaves the stored status as it is,
// for members this actor has never heard from: a new actor's first probes
// run with no pooled connection, often on a loaded node (a new leader
// starts a thousand actors at once), and one that times out contradicts
// the previous leader's word with nothing of its own yet. Reporting it
// flipped Ready off and on again, two status writes per cluster: 630
// writes in a 1,000-cluster operator restart.
//
// It holds only while nothing is being done, no safety notice is up, and
// every member whose probe failed is one the status calls Ready, whose pod
// is still ready, which has been unreachable for less than
// unreachableGrace (failover waits out the same grace, failover.go), and
// which has never answered this actor. A member that has answered is
// reported at once when it stops: the actor's passes during an outage feed
// the failover's clocks (a status write wakes it again), and holding there
// put the fence of a cut-off primary past its lease.
func (c *Cluster) holdStatus(pgc *v1alpha1.PostgresCluster, obs *observation, act action, actErr error) bool {
	if actErr != nil || (act.kind != actNone && act.kind != actWait) || len(act.notices) > 0 ||
		pgc.Generation != pgc.Status.ObservedGeneration {
		return false
	}
	now := c.cfg.Clock.Now()
	var left time.Duration
	for _, m := range obs.members.live() {
		if m.dbErr == nil {
			continue
		}
		rest, ok := c.heldFor(pgc, m, now)
		if !ok {
			return false
		}
		left = max(left, rest)
	}
	if left == 0 {
		return false
	}
	c.pokeAfter(max(left, vanishedRecheck))
	return true
}

// heldFor is how long m's failed probe may still go unreported, and
// false when it must be reported now.
func (c *Cluster) heldFor(pgc *v1alpha1.PostgresCluster, m *member, now time.Time) (time.Duration, bool) {
	since := c.unreachableSince[m.name]
	if !postgres.IsUnreachable(m.dbErr) || since.IsZero() || !m.podReady() ||
		!slices.Contains(pgc.Status.Members.Ready, m.name) || c.heard[m.name] {
		return 0, false
	}
	rest := since.Add(unreachableGrace).Sub(now)
	return rest, rest > 0
}
