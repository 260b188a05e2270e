package cluster

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Node loss. A node that stops reporting (powered off, its kubelet dead,
// cut off) is marked by the node controller: its Ready condition turns
// Unknown once --node-monitor-grace-period (50 s by default) has passed
// without a report, or False when the kubelet itself reports not ready.
// Its pods stay bound to it, and a deletion of them never completes: only
// that node's kubelet could confirm it. A member whose volume is pinned to
// the node (node-local storage) can never run anywhere else on its data;
// plan_node_lost.go decides when to give it up for a fresh clone.

// selectedNodeAnnotation: the scheduler writes on a claim of a
// WaitForFirstConsumer class the node it chose for the claim's first pod.
// It places a member whose pod is not bound to a node (a pod not yet made
// again, or Pending because its volume's node is gone).
const selectedNodeAnnotation = "volume.kubernetes.io/selected-node"

// objectReadTimeout bounds one read from the API during observe (a
// PersistentVolume, a node Lease): a slow API server must not hold up the
// pass, which may have a failover to make.
const objectReadTimeout = 2 * time.Second

// How a lost node is lost.
const (
	nodeNotReady    = "NotReady"                    // Ready False: the kubelet says so
	nodeUnreachable = "unreachable (Ready Unknown)" // the kubelet stopped reporting
	nodeGone        = "gone (no Node object)"       // deleted from the API
)

// volumePlace says where the data of a member on a lost node is.
type volumePlace string

const (
	volumeUnread  volumePlace = ""        // its PersistentVolume could not be read
	volumeNoData  volumePlace = "no data" // the claim is not bound (or its volume is gone): nothing to keep
	volumePinned  volumePlace = "pinned"  // node-local: on the lost node only
	volumeMovable volumePlace = "movable" // may be attached to another node (network storage)
)

// nodeLoss is what observe learns of a member whose node is lost.
type nodeLoss struct {
	node  string
	state string // nodeNotReady, nodeUnreachable or nodeGone
	// since is when Ready turned (by the node controller's clock: keep the
	// clocks in step), or when the actor first saw the loss.
	since time.Time
	// volume is where the member's data is; unread says why it is not known.
	volume volumePlace
	unread string
}

// nodeMemory is the actor's memory of lost nodes and of the volumes it read.
type nodeMemory struct {
	// lostSeen: when the actor first saw each node lost, for a loss the API
	// does not date (a Node object gone; a condition without a time). In
	// memory: an operator restart starts these clocks again, which delays a
	// replacement, never hastens one.
	lostSeen map[string]time.Time
	// volumes: the place of each PersistentVolume read. A volume's node
	// affinity is fixed when it is made, so it is read once.
	volumes map[string]volumePlace
}

// observeNodeLost finds the members whose node is lost. Without the Nodes
// lister (a namespaced install) it finds none. It reads the volume of
// such members only: a GET per volume, once, while its node is lost.
func (c *Cluster) observeNodeLost(ctx context.Context, obs *observation) {
	obs.nodeLost = map[string]nodeLoss{}
	if c.cfg.Listers.Nodes == nil {
		return
	}
	now := c.cfg.Clock.Now()
	lostNodes, volumes := map[string]bool{}, map[string]bool{}
	for _, m := range obs.members {
		name := memberNode(m)
		if name == "" || !m.hasVolume() {
			continue
		}
		loss, lost := c.nodeLossOf(name, now)
		if !lost {
			continue
		}
		lostNodes[name], volumes[m.pvc.Spec.VolumeName] = true, true
		loss.volume, loss.unread = c.volumePlaceOf(ctx, m.pvc)
		obs.nodeLost[m.name] = loss
	}
	forgetOthers(c.nodes.lostSeen, lostNodes)
	forgetOthers(c.nodes.volumes, volumes)
}

// memberNode is the node a member's pod is bound to or, for a pod not
// bound (or none), the node its claim was placed on.
func memberNode(m *member) string {
	if m.pod != nil && m.pod.Spec.NodeName != "" {
		return m.pod.Spec.NodeName
	}
	if m.pvc != nil {
		return m.pvc.Annotations[selectedNodeAnnotation]
	}
	return ""
}

// nodeLossOf says whether a node is lost, how and since when.
func (c *Cluster) nodeLossOf(name string, now time.Time) (nodeLoss, bool) {
	node, err := c.cfg.Listers.Nodes.Get(name)
	var loss nodeLoss
	switch {
	case apierrors.IsNotFound(err):
		loss = nodeLoss{node: name, state: nodeGone}
	case err != nil:
		return nodeLoss{}, false
	default:
		var lost bool
		if loss, lost = readyLoss(node); !lost {
			return nodeLoss{}, false
		}
	}
	if loss.since.IsZero() {
		if c.nodes.lostSeen == nil {
			c.nodes.lostSeen = map[string]time.Time{}
		}
		if c.nodes.lostSeen[name].IsZero() {
			c.nodes.lostSeen[name] = now
		}
		loss.since = c.nodes.lostSeen[name]
	}
	return loss, true
}

// readyLoss: a node whose Ready condition is False or Unknown is lost,
// since the condition's last transition. A node without the condition
// (registering) is not.
func readyLoss(node *corev1.Node) (nodeLoss, bool) {
	for _, cond := range node.Status.Conditions {
		if cond.Type != corev1.NodeReady {
			continue
		}
		loss := nodeLoss{node: node.Name, since: cond.LastTransitionTime.Time}
		switch cond.Status {
		case corev1.ConditionFalse:
			loss.state = nodeNotReady
		case corev1.ConditionUnknown:
			loss.state = nodeUnreachable
		default:
			return nodeLoss{}, false
		}
		return loss, true
	}
	return nodeLoss{}, false
}

// volumePlaceOf reads where a claim's data is: not yet anywhere (claim not
// bound), on one node, or on storage that can move. An error leaves it
// unread, and the member is not replaced (no volume deleted without proof).
func (c *Cluster) volumePlaceOf(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (volumePlace, string) {
	name := pvc.Spec.VolumeName
	if name == "" {
		return volumeNoData, ""
	}
	if place, ok := c.nodes.volumes[name]; ok {
		return place, ""
	}
	ctx, cancel := context.WithTimeout(ctx, objectReadTimeout)
	defer cancel()
	pv, err := c.cfg.Kube.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
	place := volumeMovable
	switch {
	case apierrors.IsNotFound(err):
		// A bound volume is protected from deletion while claimed: one that
		// is gone anyway took its data with it.
		place = volumeNoData
	case err != nil:
		return volumeUnread, err.Error()
	case pinnedToOneNode(pv):
		place = volumePinned
	}
	if c.nodes.volumes == nil {
		c.nodes.volumes = map[string]volumePlace{}
	}
	c.nodes.volumes[name] = place
	return place, ""
}

// pinnedToOneNode: every term of the volume's required node affinity
// admits one and the same host, the mark of node-local storage (local
// volumes, hostpath and local-path provisioners, OpenEBS LocalPV). A zonal
// network disk names a zone instead, and may move within it.
func pinnedToOneNode(pv *corev1.PersistentVolume) bool {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return false
	}
	terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
	host := ""
	for _, t := range terms {
		h := termHost(t)
		if h == "" || (host != "" && h != host) {
			return false
		}
		host = h
	}
	return host != ""
}

// termHost is the one host a node selector term admits, or "".
func termHost(t corev1.NodeSelectorTerm) string {
	for _, e := range t.MatchExpressions {
		if e.Key == corev1.LabelHostname && e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1 {
			return e.Values[0]
		}
	}
	for _, f := range t.MatchFields {
		if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
			return f.Values[0]
		}
	}
	return ""
}

// forgetOthers deletes the keys of m not in keep.
func forgetOthers[V any](m map[string]V, keep map[string]bool) {
	for k := range m {
		if !keep[k] {
			delete(m, k)
		}
	}
}
