package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// CertificatesAnnotation on a member pod names the certificates it was
// last handed. Changing it makes the kubelet sync the pod at once, which
// refreshes its mounted Secrets: a renewed or replaced certificate
// reaches the members in seconds, not at the kubelet's next periodic sync
// (up to a minute and more), and member.sh reloads PostgreSQL.
const CertificatesAnnotation = "postgres-operator.dev/certificates"

// actRefreshCertificates nudges the pods whose certificates changed.
const actRefreshCertificates actionKind = "RefreshCertificates"

// certificatesVersion identifies the certificates the members should
// serve and use; "" while they are incomplete.
func certificatesVersion(t tlsObs) string {
	if t.server == nil || t.client == nil {
		return ""
	}
	h := sha256.New()
	for _, b := range [][]byte{t.server.Data[tlsCertKey], t.client.Data[tlsCertKey], t.client.Data[caCertKey], t.client.Data[clientCACertKey]} {
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// planRefreshCertificates nudges member pods that were handed older
// certificates than the current ones.
func planRefreshCertificates(in planInput) (action, bool) {
	stale := stalePods(in.obs)
	if len(stale) == 0 {
		return action{}, false
	}
	return action{kind: actRefreshCertificates, reason: fmt.Sprintf(
		"handing the current certificates to %s", strings.Join(stale, ", "))}, true
}

func stalePods(obs *observation) []string {
	v := certificatesVersion(obs.tls)
	if v == "" {
		return nil
	}
	var stale []string
	for _, m := range obs.members.live() {
		if m.hasPod() && podHasTLS(m.pod) && m.pod.Annotations[CertificatesAnnotation] != v {
			stale = append(stale, m.name)
		}
	}
	return stale
}

// refreshCertificates annotates the stale pods.
func (c *Cluster) refreshCertificates(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) error {
	v := certificatesVersion(obs.tls)
	for _, name := range stalePods(obs) {
		patch := map[string]any{"metadata": map[string]any{"annotations": map[string]string{CertificatesAnnotation: v}}}
		if err := c.patchPod(ctx, pgc.Namespace, name, patch); err != nil {
			return err
		}
	}
	return nil
}
