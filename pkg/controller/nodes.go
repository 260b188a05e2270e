package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// podsByNode indexes the member pods by the node they run on.
const podsByNode = "spec.nodeName"

// WatchNodes wakes the clusters that have a member on a node whose
// schedulability or readiness changes (cordoned, uncordoned, tainted,
// NotReady, Ready again): a primary on a node about to be drained is
// switched over at once, not at the next timer tick, and a member on a
// lost node is seen lost at once. Optional: without it nothing wakes on nodes. Call it after
// New and before the informers start; the controller then also waits for
// the node cache before its first sync.
func (c *Controller) WatchNodes(nodes coreinformers.NodeInformer) error {
	for _, pods := range c.pods {
		if err := pods.AddIndexers(cache.Indexers{podsByNode: nodeNameOf}); err != nil {
			return fmt.Errorf("controller: indexing pods by node: %w", err)
		}
	}
	logger := c.logger.WithValues("informer", "nodes")
	reg, err := nodes.Informer().AddEventHandlerWithOptions(cache.ResourceEventHandlerFuncs{
		UpdateFunc: c.onNodeUpdate,
	}, cache.HandlerOptions{Logger: &logger})
	if err != nil {
		return fmt.Errorf("controller: add node event handler: %w", err)
	}
	c.synced = append(c.synced, reg.HasSyncedChecker())
	return nil
}

func nodeNameOf(obj any) ([]string, error) {
	if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
		return []string{pod.Spec.NodeName}, nil
	}
	return nil, nil
}

// onNodeUpdate ignores what nodes report every few seconds (status,
// heartbeats): only spec.unschedulable and the taints say whether a node is
// being emptied, and the Ready condition whether it is lost. A new node
// runs no member yet; a deleted one takes its pods with it, and their
// events wake the clusters.
func (c *Controller) onNodeUpdate(oldObj, newObj any) {
	oldNode, ok1 := oldObj.(*corev1.Node)
	newNode, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 || (oldNode.Spec.Unschedulable == newNode.Spec.Unschedulable &&
		equality.Semantic.DeepEqual(oldNode.Spec.Taints, newNode.Spec.Taints) && readyOf(oldNode) == readyOf(newNode)) {
		return
	}
	for _, pods := range c.pods {
		onNode, err := pods.GetIndexer().ByIndex(podsByNode, newNode.Name)
		if err != nil {
			continue // only if the index is missing: WatchNodes adds it
		}
		for _, pod := range onNode {
			c.enqueueOwner(pod)
		}
	}
}

// readyOf is the status of a node's Ready condition ("" without one).
func readyOf(node *corev1.Node) corev1.ConditionStatus {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status
		}
	}
	return ""
}
