package cluster

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// The safety rules ("safe decisions", "no volume deleted without proof")
// need a little more than the probes: the check of a vanished primary's
// address (vanished.go), which members hold another database
// (safety_identity.go), and the actor's memory of its re-clones
// (safety_stuck_replicas.go) and of the Events it already sent
// (safety_notices.go).

// safetyObs is what observe learns for the safety rules.
type safetyObs struct {
	// vanished is this pass's look at the address of a force-deleted
	// primary's pod; nil when there is none to check.
	vanished *vanishedCheck
	// foreign names the members whose data directory belongs to another
	// database, and says why (safety_identity.go).
	foreign map[string]string
	// kubelet is the node Lease of a deleted primary whose end is not
	// confirmed; nil when there is none or it could not be read
	// (fence_kubelet.go).
	kubelet *kubeletLease
}

// safetyInput is what plan gets from the actor's memory.
type safetyInput struct {
	// recloneAt is when the actor last replaced a replica that could no
	// longer stream; reclones counts such replacements since every replica
	// last streamed (the back-off grows with it).
	recloneAt time.Time
	reclones  int
}

// safetyMemory is the actor's own state for the safety rules. It lives in
// memory: an operator restart forgets the back-off (the one-at-a-time rule
// still holds, it reads the members) and announces conditions again once.
type safetyMemory struct {
	recloneAt time.Time
	reclones  int
	// foreignVolumes remembers, by volume claim UID, the claims whose
	// PostgreSQL reported another system identifier, so a member is still
	// known foreign while its PostgreSQL does not answer.
	foreignVolumes map[types.UID]string
	// timelines remembers, by pod UID, the newest timeline each member's
	// reports showed (safety_timeline.go).
	timelines map[types.UID]uint32
	// replayed remembers, by pod UID, what each standby reported
	// replaying (safety_replayed.go).
	replayed map[types.UID]replayed
	// announced holds the keys of the notices already sent as Events.
	announced map[string]bool
	// dial checks whether an address accepts connections (vanished.go);
	// tests replace it.
	dial func(ctx context.Context, addr string) bool
}

// safetyInput feeds the safety rules' part of planInput and marks the
// members that hold another database. It runs once per pass, after the
// probes.
func (c *Cluster) safetyInput(pgc *v1alpha1.PostgresCluster, obs *observation, in *planInput) {
	c.markForeign(pgc, obs)
	c.rememberTimelines(obs)
	if everyReplicaStreams(obs) {
		c.safety.reclones = 0 // the back-off starts afresh
	}
	in.safety = safetyInput{recloneAt: c.safety.recloneAt, reclones: c.safety.reclones}
}

// recloned records a replica replaced because it could no longer stream.
func (m *safetyMemory) recloned(now time.Time) {
	m.recloneAt = now
	m.reclones++
}

// everyReplicaStreams: the cluster has a primary and each other member
// with a pod streams from it.
func everyReplicaStreams(obs *observation) bool {
	p := obs.members.primary()
	if p == nil {
		return false
	}
	for _, m := range obs.members.live() {
		if m != p && !m.streaming() {
			return false
		}
	}
	return true
}

// pokeAfter runs another pass after d: for checks that no API event will
// end (a vanished primary's address dying, a replica's word on the primary
// going stale). The timer fires once; it never blocks the actor.
func (c *Cluster) pokeAfter(d time.Duration) {
	t := c.cfg.Clock.NewTimer(d)
	go func() {
		<-t.C()
		c.poke()
	}()
}
