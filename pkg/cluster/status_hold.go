package cluster

import (
	"slices"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// holdStatus reports whether this pass leaves the stored status as it is:
// nothing is being done, no safety notice is up, and every member whose probe failed is one the
// status calls Ready, whose pod is still ready, and whose PostgreSQL has
// been unreachable for less than unreachableGrace. Failover waits out the
// same grace (failover.go): a probe that timed out on a loaded node, or in
// a new leader's first pass with no pooled connection yet, is not an outage
// yet. Reporting it flipped Ready off and on again, two status writes per
// cluster: 630 writes in a 1,000-cluster operator restart. When the grace
// ends the actor looks again and reports what it then finds.
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
		since := c.unreachableSince[m.name]
		if !postgres.IsUnreachable(m.dbErr) || since.IsZero() || !m.podReady() ||
			!slices.Contains(pgc.Status.Members.Ready, m.name) {
			return false
		}
		rest := since.Add(unreachableGrace).Sub(now)
		if rest <= 0 {
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
