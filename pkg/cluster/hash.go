package cluster

import (
	"encoding/json"
	"fmt"
	"hash/fnv"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// podSpecHash hashes the pod fields that can only change by recreating the
// member: a member whose pod carries another hash is rolled.
func podSpecHash(pgc *v1alpha1.PostgresCluster, image string) string {
	fields := struct {
		Image        string
		Resources    any
		NodeSelector any
		Tolerations  any
		Affinity     any
	}{image, pgc.Spec.Resources, pgc.Spec.Pod.NodeSelector, pgc.Spec.Pod.Tolerations, pgc.Spec.Pod.Affinity}
	data, err := json.Marshal(fields)
	if err != nil {
		// These types always marshal; a panic here is a programming error.
		panic(fmt.Sprintf("hashing pod spec: %v", err))
	}
	h := fnv.New64a()
	h.Write(data)
	return fmt.Sprintf("%016x", h.Sum64())
}
