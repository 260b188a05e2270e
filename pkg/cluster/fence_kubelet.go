package cluster

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// The self-fence guards only a primary whose kubelet cannot see its pod's
// deletion. A kubelet stops running a pod's liveness probes once it sees
// the pod deleted (it counts them as passed from then on), so after the
// fence's deletion the old primary's end rests on the kubelet's kill
// alone. That kill is quick unless the container cannot run: a frozen one
// (a stalled VM or disk, the cgroup freezer) takes its signals only once
// thawed, and a CI run saw it thawed minutes later, answering as a primary
// beside the one promoted at its lease's end. So while the kubelet of the
// old primary's node still renews its node Lease, it is connected, has
// seen or will see the deletion at once, and the operator waits for it to
// confirm the end however long that takes. A node cut off stops renewing:
// its kubelet never saw the deletion, the probe keeps running there, and
// the lease rule of failover_fence.go holds.

// nodeLeaseNamespace holds one Lease per node, renewed by its kubelet.
const nodeLeaseNamespace = "kube-node-lease"

// kubeletRenewSlack is how late a renewal may come before the kubelet
// counts as cut off: a kubelet renews every quarter of its Lease's
// duration (10 s by default), later on a loaded node or a slow API server.
const kubeletRenewSlack = 4 * time.Second

// defaultNodeLeaseDuration is the kubelet's default node Lease duration.
const defaultNodeLeaseDuration = 40 * time.Second

// reasonAwaitingKubelet is the reason of PrimaryAvailable=False and of the
// Warning Event while the operator waits for a connected kubelet.
const reasonAwaitingKubelet = "AwaitingKubelet"

// kubeletLease is this pass's read of the node Lease of a deleted primary
// whose end is not confirmed.
type kubeletLease struct {
	node    string
	renewed time.Time     // the kubelet's last renewal (its clock: keep clocks in step)
	every   time.Duration // how often the kubelet renews it
	readAt  time.Time     // when the operator read it (its clock)
	// unread says why the Lease could not be read (a timeout, the API
	// server away): the kubelet may be connected, so the pass waits.
	unread string
}

// connected: when the operator read the Lease, the kubelet had renewed it
// recently enough to have seen the deletion, or the read failed and it
// may have. A later pass reads it again.
func (k *kubeletLease) connected() bool {
	return k != nil && (k.unread != "" || k.readAt.Before(k.staleAt()))
}

// recheck is when a pass should look again if nothing else brings one:
// once the kubelet, renewing no more, would count as cut off.
func (k *kubeletLease) recheck(now time.Time) time.Duration {
	return max(k.staleAt().Sub(now), time.Second)
}

// staleAt is when the kubelet counts as cut off if it renews no more.
func (k *kubeletLease) staleAt() time.Time { return k.renewed.Add(k.every + kubeletRenewSlack) }

// observeKubelet reads the node Lease of a deleted primary whose end is
// not confirmed: one GET per pass, only while the operator waits for such
// a primary (seconds, in a failover). It reads nothing when the right to
// is missing (a namespaced install): the lease rule then applies alone.
func (c *Cluster) observeKubelet(ctx context.Context, obs *observation) {
	m := leaseHolder(obs.members)
	if m == nil || !m.fenced() || m.hasPod() || m.pod.Spec.NodeName == "" || c.nodeLeasesForbidden {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, objectReadTimeout)
	defer cancel()
	node := m.pod.Spec.NodeName
	lease, err := c.cfg.Kube.CoordinationV1().Leases(nodeLeaseNamespace).Get(ctx, node, metav1.GetOptions{})
	switch {
	case apierrors.IsForbidden(err):
		c.nodeLeasesForbidden = true
		klog.FromContext(ctx).Info("Node Leases cannot be read: a fenced primary whose kubelet is connected "+
			"is promoted past at its lease's end, not at the kubelet's confirmation; "+
			"grant get on leases in "+nodeLeaseNamespace+" to turn this on", "err", err.Error())
		return
	case apierrors.IsNotFound(err):
		return // the node is gone, and its kubelet with it
	case err != nil:
		obs.safety.kubelet = &kubeletLease{node: node, unread: err.Error()}
		return
	case lease.Spec.RenewTime == nil:
		return // never renewed: nothing says its kubelet is connected
	}
	every := defaultNodeLeaseDuration
	if d := lease.Spec.LeaseDurationSeconds; d != nil && *d > 0 {
		every = time.Duration(*d) * time.Second
	}
	obs.safety.kubelet = &kubeletLease{node: node, renewed: lease.Spec.RenewTime.Time, every: every / 4,
		readAt: c.cfg.Clock.Now()}
}

// awaitingKubelet names the wait. No time that changes from pass to pass:
// the condition would be rewritten with every renewal.
func awaitingKubelet(m *member, k *kubeletLease) string {
	if k.unread != "" {
		return fmt.Sprintf("the old primary %s is fenced and its lease has run out, but the Lease of its node %s "+
			"could not be read, so its kubelet may have seen the pod's deletion and stopped the self-fence probe: "+
			"waiting until the Lease can be read (%s)", m.name, k.node, k.unread)
	}
	return fmt.Sprintf("the old primary %s is fenced and its lease has run out, but the kubelet of its node %s "+
		"still renews its node Lease, so it has seen the pod's deletion and stopped the self-fence probe: "+
		"waiting for the kubelet to confirm the end of the container (a frozen container stops only once "+
		"thawed); should the node be cut off, its Lease goes stale within %s and the lease rule applies",
		m.name, k.node, k.every+kubeletRenewSlack)
}
