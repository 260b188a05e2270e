package cluster

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// aliveTimeout bounds the check that a vanished primary's address is dead.
const aliveTimeout = 300 * time.Millisecond

// vanishedRecheck is how soon another pass checks an address that still
// answered. No API event follows the death of a force-deleted pod's
// container, so the actor asks again on its own rather than wait for the
// reconcile timer (up to 12 s); the kubelet stops such a container within a
// few seconds.
const vanishedRecheck = 200 * time.Millisecond

// vanishedCheck is one look, during observe, at the address of a primary
// pod that vanished from the API without the actor seeing it stop.
type vanishedCheck struct {
	member   string
	addr     string
	answered bool      // it accepted a TCP connection
	at       time.Time // when the check ended (the actor's clock)
	// unlabelled: the very pod is still in the API, out of the cache only
	// because its cluster label was removed or changed by hand.
	unlabelled bool
}

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

// observeVanished checks, once and within aliveTimeout, whether a primary
// pod that vanished from the API may still be running. A forced deletion
// (grace 0) removes the object at once while the kubelet may still be
// stopping the container, and such a primary may still accept writes. A
// graceful deletion is confirmed by the kubelet before the object goes, a
// failed pod has stopped, and an address another pod of the cluster now
// has was given up by the old one: none needs a check.
//
// It runs before the members are probed, so the WAL positions this pass
// compares are read after the address was found dead: the old primary may
// have streamed more WAL to some replicas while it shut down (its shutdown
// checkpoint, even commits acknowledged in sync mode).
func (c *Cluster) observeVanished(ctx context.Context, obs *observation) {
	last := c.lastPrimaryPod
	if last == nil || last.Status.PodIP == "" {
		return
	}
	if m := obs.members.byName(last.Name); m != nil && m.pod != nil {
		return // still there: fencing handles it
	}
	if gracefulDeletion(last) || podFailed(last) || addressTaken(obs, last) {
		c.lastPrimaryPod = nil
		return
	}
	dial := c.safety.dial
	if dial == nil {
		dial = answers
	}
	addr := net.JoinHostPort(last.Status.PodIP, strconv.Itoa(postgresPort))
	check := &vanishedCheck{member: last.Name, addr: addr, answered: dial(ctx, addr)}
	check.at = c.cfg.Clock.Now()
	obs.safety.vanished = check
	if check.answered {
		check.unlabelled = c.stillListed(ctx, last)
		c.pokeAfter(vanishedRecheck)
	} else {
		c.lastPrimaryPod = nil // dead: no need to check again
	}
}

// stillListed: the very pod (same UID, not being deleted) is still in the
// API although the cache, which holds only labelled pods, lost it. A list
// by name: the operator's RBAC grants list, not get, on pods. An error
// counts as not listed, which keeps the hold as it was.
func (c *Cluster) stillListed(ctx context.Context, last *corev1.Pod) bool {
	l, err := c.cfg.Kube.CoreV1().Pods(last.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + last.Name})
	if err != nil {
		return false
	}
	p := named(l.Items, last.Name)
	return p != nil && p.GetUID() == last.UID && p.GetDeletionTimestamp() == nil
}

// planVanished holds promotion while a force-deleted primary's address
// still answers. A primary pod that is still there, only unlabelled by
// hand, gets its label back instead: it never stopped serving, and -rw
// routes to it again once it has it.
func planVanished(in planInput) (action, bool) {
	v := in.obs.safety.vanished
	if v == nil || !v.answered {
		return action{}, false
	}
	if v.unlabelled {
		return action{kind: actRestoreLabel, member: v.member, reason: fmt.Sprintf(
			"the primary %s's pod lost its label %s=%s (removed by hand) and still serves: putting the label back, no failover",
			v.member, ClusterLabel, in.cluster.Name)}, true
	}
	return action{kind: actWait, phase: v1alpha1.PhaseFailingOver, reason: fmt.Sprintf(
		"the old primary %s's pod was force-deleted and its address %s still answered %s ago: "+
			"not promoting until it is dead and the replicas' positions are read again",
		v.member, v.addr, in.now.Sub(v.at).Round(time.Millisecond))}, true
}

// addressTaken: another pod of the cluster has the vanished pod's IP, which
// the network plugin hands out again only once the old sandbox is gone.
func addressTaken(obs *observation, last *corev1.Pod) bool {
	for _, m := range obs.members {
		if m.pod != nil && m.pod.UID != last.UID && m.pod.Status.PodIP == last.Status.PodIP {
			return true
		}
	}
	return false
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

// restorePodLabel puts the cluster's labels back on the primary's pod that
// lost them (stillListed). The patch names the pod's UID, so it applies to
// the pod the actor knew and to no other of the same name.
func (c *Cluster) restorePodLabel(ctx context.Context, pgc *v1alpha1.PostgresCluster, member string) error {
	last := c.lastPrimaryPod
	if last == nil || last.Name != member {
		return fmt.Errorf("pod %s: no longer the primary pod this actor knew", member)
	}
	relabel := relabelWith[*corev1.Pod](c.cfg.Kube.CoreV1().Pods(pgc.Namespace))
	if err := relabel(ctx, member, labelPatch(last.UID, memberLabels(pgc.Name, member))); err != nil {
		return fmt.Errorf("patching pod %s: %w", member, err)
	}
	return nil
}
