package cluster

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
