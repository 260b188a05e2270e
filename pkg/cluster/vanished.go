package cluster

import (
	"context"
	"net"
	"strconv"
	"time"
)

// aliveTimeout bounds the check that a vanished primary's address is dead.
const aliveTimeout = 300 * time.Millisecond

// rememberPrimary keeps the last state in which the actor saw the primary's
// (or a fenced primary's) pod, to judge how that pod disappeared.
func (c *Cluster) rememberPrimary(obs *observation) {
	for _, m := range obs.members {
		if m.pod != nil && (m.role() == RolePrimary || m.fenced()) {
			c.lastPrimaryPod = m.pod
			return
		}
	}
}

// vanishedPrimaryAnswers reports whether a primary pod that vanished from
// the API without the actor ever seeing it terminate still accepts
// connections. A forced deletion (grace 0) removes the object at once while
// the kubelet may still be stopping the container; promotion waits until
// the old address is dead. A graceful deletion is confirmed by the kubelet
// before the object goes, so it needs no check.
func (c *Cluster) vanishedPrimaryAnswers(ctx context.Context, obs *observation) bool {
	last := c.lastPrimaryPod
	if last == nil || last.Status.PodIP == "" {
		return false
	}
	if m := obs.members.byName(last.Name); m != nil && m.pod != nil {
		return false // still there: fencing handles it
	}
	if last.DeletionTimestamp != nil || podFailed(last) {
		c.lastPrimaryPod = nil
		return false
	}
	d := net.Dialer{Timeout: aliveTimeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(last.Status.PodIP, strconv.Itoa(postgresPort)))
	if err != nil {
		c.lastPrimaryPod = nil // dead: no need to check again
		return false
	}
	_ = conn.Close()
	return true
}
