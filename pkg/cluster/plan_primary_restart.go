package cluster

import (
	"fmt"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// A primary with no replica to take over is restarted on its volume when
// its pod is gone. One that keeps dying as it starts (killed for its
// memory limit, a parameter the server cannot start with) would otherwise
// be fenced and made again every few seconds for good: each restart after
// the first waits out the same back-off as a failing replica's, and says
// how the last pod ended. A change of the spec is the user's fix: it is
// tried at once.

// primaryRestarts is what the actor remembers of a member restarted as
// the primary on its volume, until it has stayed up (stayedUp).
type primaryRestarts struct {
	count int       // restarts in a row that did not keep it up
	at    time.Time // the last one
	spec  string    // the spec its last pod was built from (restartSpec)
	exit  string    // how its last pod ended (exitDetail), "" if unknown
}

// restartSpec identifies what a restarted primary's pod is built from:
// its pod spec and the parameters member.sh writes as it starts.
func restartSpec(pgc *v1alpha1.PostgresCluster, image string) string {
	return podSpecHash(pgc, image) + "\n" + renderedParameters(pgc)
}

// planRestartPrimary restarts the last primary on its volume, at once the
// first time or when the spec changed since its last restart, and else
// after restartBackoff of the restarts in a row.
func planRestartPrimary(in planInput, last *member) action {
	r := in.primaryRestarts[last.name]
	restart := action{kind: actRecreatePod, member: last.name, role: RolePrimary, bootstrap: BootstrapClone,
		restart: true, phase: v1alpha1.PhaseRecovering, reason: fmt.Sprintf("restarting the primary %s on its volume", last.name)}
	if r.count == 0 || r.spec != restartSpec(in.cluster, in.image) {
		return restart
	}
	failed := fmt.Sprintf("the primary %s keeps failing as it starts on its volume (%s in a row)%s", last.name, failuresText(r.count), r.exit)
	wait := restartBackoff(r.count)
	if in.now.Sub(r.at) >= wait {
		restart.reason = failed + ": restarting it"
		return restart
	}
	return action{kind: actWait, member: last.name, phase: v1alpha1.PhaseRecovering, reason: fmt.Sprintf(
		"%s: restarting it %s after its last start; a change of the spec restarts it at once", failed, wait)}
}

// restartsForgottenAfter: a member that has stayed up this long has its
// failures in a row forgotten. One killed soon after it becomes ready (by
// the memory of its first connections) is not forgiven them each time it
// answers, which would restart it without a back-off for good.
const restartsForgottenAfter = time.Minute

// stayedUp: m is healthy and its container has run restartsForgottenAfter
// (a Ready pod without a running container's start is taken at its word).
func stayedUp(m *member, now time.Time) bool {
	if !m.healthy() {
		return false
	}
	cs := postgresContainerStatus(m.pod)
	if cs == nil || cs.State.Running == nil || cs.State.Running.StartedAt.IsZero() {
		return true
	}
	return now.Sub(cs.State.Running.StartedAt.Time) >= restartsForgottenAfter
}

// trackPrimaryRestarts keeps, for members restarted as the primary, how
// their pod last ended, and forgets them once they have stayed up (or are
// gone).
func (c *Cluster) trackPrimaryRestarts(now time.Time, obs *observation) {
	for name, r := range c.primaryRestarts {
		m := obs.members.byName(name)
		if m == nil || stayedUp(m, now) {
			delete(c.primaryRestarts, name)
			continue
		}
		if exit := exitDetail(m.pod); exit != "" {
			r.exit = exit
			c.primaryRestarts[name] = r
		}
	}
}

// primaryRestarted counts a restart of the primary on its volume.
func (c *Cluster) primaryRestarted(pgc *v1alpha1.PostgresCluster, member string) {
	r := c.primaryRestarts[member]
	r.count++
	r.at = c.cfg.Clock.Now()
	r.spec = restartSpec(pgc, c.cfg.imageFor(pgc))
	c.primaryRestarts[member] = r
}
