package cluster

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// buildServices returns the -rw Service (the primary) and the -ro Service
// (the replicas).
func buildServices(pgc *v1alpha1.PostgresCluster) []*corev1.Service {
	rw := buildService(pgc, RWServiceName(pgc.Name), RolePrimary)
	// The operator labels a pod primary only after it has fenced the old
	// primary and promoted this one, so the label alone decides: routing
	// need not wait for a readiness probe to notice the promotion.
	rw.Spec.PublishNotReadyAddresses = true
	return []*corev1.Service{rw, buildService(pgc, ROServiceName(pgc.Name), RoleReplica)}
}

func buildService(pgc *v1alpha1.PostgresCluster, name, role string) *corev1.Service {
	selector := map[string]string{ClusterLabel: pgc.Name, RoleLabel: role}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       pgc.Namespace,
			Labels:          clusterLabels(pgc.Name),
			OwnerReferences: []metav1.OwnerReference{ownerRef(pgc)},
		},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: selector,
			Ports: []corev1.ServicePort{{
				Name: "postgres", Port: postgresPort, TargetPort: intstrPort, Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

// serviceDrift says what of one of the cluster's Services, as the cache
// holds it, no longer routes as the operator made it: the selector (the
// role label decides which members take the traffic) and, on -rw,
// publishing not-ready addresses (routing follows the label at once after a
// failover). Everything else (type, annotations, ports) is left to the
// user. Empty when it routes as made.
func serviceDrift(have, want *corev1.Service) string {
	var drift []string
	if !maps.Equal(have.Spec.Selector, want.Spec.Selector) {
		drift = append(drift, fmt.Sprintf("its selector %s (the operator's: %s)",
			labels.FormatLabels(have.Spec.Selector), labels.FormatLabels(want.Spec.Selector)))
	}
	if want.Spec.PublishNotReadyAddresses && !have.Spec.PublishNotReadyAddresses {
		drift = append(drift, "publishNotReadyAddresses false")
	}
	return strings.Join(drift, " and ")
}

// serviceRepairPatch is the JSON patch that puts back what serviceDrift
// checks ("add" replaces a field that is there and sets one that is not).
func serviceRepairPatch(want *corev1.Service) ([]byte, error) {
	ops := []map[string]any{{"op": "add", "path": "/spec/selector", "value": want.Spec.Selector}}
	if want.Spec.PublishNotReadyAddresses {
		ops = append(ops, map[string]any{"op": "add", "path": "/spec/publishNotReadyAddresses", "value": true})
	}
	return json.Marshal(ops)
}
