package cluster

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// drainObs is what the drain rules (plan_drain.go) look at.
type drainObs struct {
	// pdbs are the cluster's PodDisruptionBudgets that exist, by name.
	pdbs map[string]*policyv1.PodDisruptionBudget
	// cordoned holds the names of the cordoned nodes that run a member.
	// It stays empty when the operator cannot list nodes.
	cordoned map[string]bool
}

// observeDrain reads the disruption budget and the nodes of the members.
// A node the lister does not know counts as schedulable: without its
// object there is no cordon to act on.
func (c *Cluster) observeDrain(pgc *v1alpha1.PostgresCluster, obs *observation) error {
	obs.drain.pdbs = map[string]*policyv1.PodDisruptionBudget{}
	for _, name := range []string{PDBName(pgc.Name), PrimaryPDBName(pgc.Name)} {
		pdb, err := c.cfg.Listers.PDBs.PodDisruptionBudgets(pgc.Namespace).Get(name)
		switch {
		case err == nil:
			obs.drain.pdbs[name] = pdb
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("reading pod disruption budget %s: %w", name, err)
		}
	}
	obs.drain.cordoned = map[string]bool{}
	if c.cfg.Listers.Nodes == nil {
		return nil
	}
	for _, m := range obs.members {
		if m.pod == nil || m.pod.Spec.NodeName == "" {
			continue
		}
		node, err := c.cfg.Listers.Nodes.Get(m.pod.Spec.NodeName)
		if err == nil && nodeCordoned(node) {
			obs.drain.cordoned[node.Name] = true
		}
	}
	return nil
}

// nodeCordoned: `kubectl cordon` (and so `kubectl drain`) sets
// spec.unschedulable, and the node controller mirrors it as a NoSchedule
// taint; either one means the node is about to be emptied.
func nodeCordoned(node *corev1.Node) bool {
	if node.Spec.Unschedulable {
		return true
	}
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeUnschedulable && t.Effect == corev1.TaintEffectNoSchedule {
			return true
		}
	}
	return false
}

// cordonedNode returns the node of a member's pod when it is cordoned.
func (o *observation) cordonedNode(m *member) (string, bool) {
	if m.pod == nil || !o.drain.cordoned[m.pod.Spec.NodeName] {
		return "", false
	}
	return m.pod.Spec.NodeName, true
}
