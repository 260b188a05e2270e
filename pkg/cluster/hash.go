package cluster

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// podSpecHash hashes the pod fields that can only change by recreating the
// member: a member whose pod carries another hash is rolled. It hashes the
// user's spec, not the operator's defaults: a default added or changed by
// an upgrade (the members' spread, topology.go) applies to pods as they are
// created, and never rolls every cluster at once. A field added later is
// left out while unset, so existing pods keep their hash.
func podSpecHash(pgc *v1alpha1.PostgresCluster, image string) string {
	fields := struct {
		Image          string
		Resources      any
		NodeSelector   any
		Tolerations    any
		Affinity       any
		TopologySpread *[]corev1.TopologySpreadConstraint `json:",omitempty"` // set, even empty, when the user set it
		Archive        *v1alpha1.ObjectStore              `json:",omitempty"` // backup_pod.go
		Restart        string                             `json:",omitempty"` // a rolling restart asked for
		// pg_hba.conf and the mounted server certificate (tls_pod.go).
		SuperuserAccess   bool                 `json:",omitempty"`
		ServerCertificate *v1alpha1.SecretName `json:",omitempty"`
		// The fence probe's lease (fence_probe.go), left out at its default
		// so that pods made before it existed keep their hash.
		FenceAfter time.Duration `json:",omitempty"`
	}{image, pgc.Spec.Resources, pgc.Spec.Pod.NodeSelector, pgc.Spec.Pod.Tolerations, pgc.Spec.Pod.Affinity, nil,
		archiveHashField(pgc), pgc.Annotations[v1alpha1.RestartAnnotation],
		pgc.Spec.SuperuserAccess, pgc.Spec.TLS.ServerCertificate, 0}
	if t := fenceAfter(pgc); t != defaultFenceAfter {
		fields.FenceAfter = t
	}
	if tsc := pgc.Spec.Pod.TopologySpreadConstraints; tsc != nil {
		fields.TopologySpread = &tsc
	}
	data, err := json.Marshal(fields)
	if err != nil {
		// These types always marshal; a panic here is a programming error.
		panic(fmt.Sprintf("hashing pod spec: %v", err))
	}
	h := fnv.New64a()
	h.Write(data)
	return fmt.Sprintf("%016x", h.Sum64())
}
