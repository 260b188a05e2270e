package cluster

import (
	"context"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// aliveTimeout bounds each check that a vanished primary's address is dead.
const aliveTimeout = 300 * time.Millisecond

// vanishedWait bounds how long one pass keeps checking that address. No API
// event follows the death of a force-deleted pod's container, so the actor
// keeps checking, a pass every vanishedWait at most, instead of waiting for
// the reconcile timer (up to 12 s); the kubelet stops such a container
// within a few seconds.
const vanishedWait = 3 * time.Second

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
// the API without the actor ever seeing it terminate may still be running:
// promotion must wait. A forced deletion (grace 0) removes the object at
// once while the kubelet may still be stopping the container; promotion
// waits until the old address is dead. A graceful deletion is confirmed by
// the kubelet before the object goes, so it needs no check.
//
// Once the address is dead it still reports true for this pass: the
// replicas' positions this pass would compare were read before, and the
// old primary may have streamed more WAL to some of them while it shut
// down (its shutdown checkpoint, even commits acknowledged in sync mode).
// The next pass, run at once, reads them again and promotes the right one.
func (c *Cluster) vanishedPrimaryAnswers(ctx context.Context, obs *observation) bool {
	last := c.lastPrimaryPod
	if last == nil || last.Status.PodIP == "" {
		return false
	}
	if m := obs.members.byName(last.Name); m != nil && m.pod != nil {
		return false // still there: fencing handles it
	}
	if gracefulDeletion(last) || podFailed(last) {
		c.lastPrimaryPod = nil
		return false
	}
	addr := net.JoinHostPort(last.Status.PodIP, strconv.Itoa(postgresPort))
	deadline := time.Now().Add(vanishedWait)
	for answers(ctx, addr) {
		if time.Now().After(deadline) {
			c.poke() // keep checking: no event will come when it dies
			return true
		}
		select {
		case <-ctx.Done():
			return true
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.lastPrimaryPod = nil // dead: no need to check again
	c.poke()
	return true
}

// gracefulDeletion: the kubelet removes such a pod only once its containers
// have stopped. A forced deletion sets deletionTimestamp too, with a grace
// period of 0, for the instant before the object goes; an actor pass can
// run in that instant and must not take it for a confirmed stop.
func gracefulDeletion(p *corev1.Pod) bool {
	return p.DeletionTimestamp != nil && p.DeletionGracePeriodSeconds != nil && *p.DeletionGracePeriodSeconds > 0
}

// answers reports whether addr accepts a TCP connection.
func answers(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: aliveTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}
