package main

import (
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
)

// lastAppliedAnnotation is kubectl apply's copy of the whole object as
// last applied: for a Secret, its data once more.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// stripForCache drops, before an informer stores an object, what the
// operator never reads and what is much of the cache at 1,000 clusters:
//
//   - metadata.managedFields, on every object. Writing back an object
//     without them is safe: the API server keeps the stored ones when an
//     update carries none (and a status update ignores metadata anyway).
//   - kubectl's last-applied annotation, on every kind but the
//     PodDisruptionBudget: that is the one kind the operator writes with a
//     full Update of its cached copy (pkg/cluster/apply_drain.go), which
//     would erase the annotation from the stored object. Every other write
//     is a patch, a create or a status update.
//   - the command and args of a Pod's containers: member.sh, 20 KB in every
//     member pod, and the backup Job's script; and the commands of their
//     exec probes (the fence probe's script and query, 3 KB a pod). No code
//     reads them from a cached pod; TestNothingReadsACommandOrArgs keeps it
//     so.
//
// Labels, the other annotations, owner references, the rest of the spec
// (volumes, images, env, node) and the status stay as they are.
//
// It mutates obj in place, which client-go allows since 1.27 (the object
// is the informer's own, decoded from the watch), and is idempotent.
func stripForCache(obj any) (any, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return obj, nil // a tombstone: its object was stripped when stored
	}
	m.SetManagedFields(nil)
	if _, fullUpdate := obj.(*policyv1.PodDisruptionBudget); !fullUpdate {
		if a := m.GetAnnotations(); hasKey(a, lastAppliedAnnotation) {
			delete(a, lastAppliedAnnotation)
			m.SetAnnotations(a)
		}
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		stripCommands(pod.Spec.InitContainers)
		stripCommands(pod.Spec.Containers)
	}
	return obj, nil
}

func stripCommands(containers []corev1.Container) {
	for i := range containers {
		c := &containers[i]
		c.Command, c.Args = nil, nil
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if p != nil && p.Exec != nil {
				p.Exec.Command = nil
			}
		}
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
