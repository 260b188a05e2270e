package main

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeinformers "k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// nodeInformer watches the nodes, so that a primary on a cordoned node is
// switched over before the drain evicts it, and a replica on a lost node
// is replaced on another (pkg/cluster/plan_node_lost.go). Nodes are cluster-scoped: an
// install without the cluster-wide role (manifests/namespaced) may not list
// them, and then runs without this, saying so once. Another error (the API
// server briefly away) leaves it on: the informer retries on its own.
func nodeInformer(ctx context.Context, kube kubernetes.Interface) (coreinformers.NodeInformer, func(<-chan struct{})) {
	logger := klog.FromContext(ctx)
	if _, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 1}); apierrors.IsForbidden(err) {
		logger.Info("Nodes cannot be listed: a primary on a cordoned node will not be switched over before a drain, "+
			"nor a replica on a lost node replaced; "+
			"grant get, list and watch on nodes to turn this on", "err", err.Error())
		return nil, nil
	}
	f := kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0,
		kubeinformers.WithTransform(slimNode))
	return f.Core().V1().Nodes(), f.Start
}

// slimNode keeps what the operator reads of a node: its name, its spec
// and whether it is Ready, since when. The rest of its status (images,
// addresses, the other conditions, heartbeat times) is most of its size,
// and a large cluster has thousands of nodes.
func slimNode(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil // a tombstone: passed on as it is
	}
	slim := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, UID: node.UID, ResourceVersion: node.ResourceVersion},
		Spec:       corev1.NodeSpec{Unschedulable: node.Spec.Unschedulable, Taints: node.Spec.Taints},
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			slim.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status, Reason: c.Reason,
				LastTransitionTime: c.LastTransitionTime}}
		}
	}
	return slim, nil
}
