package cluster

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/pki"
)

// issueCertificates carries out planCertificates' action and says what it
// did (no key ever appears in it).
func (c *Cluster) issueCertificates(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) (string, error) {
	t := obs.tls
	now := c.cfg.Clock.Now()
	var did []string
	if t.caMissing {
		ca, err := pki.NewCA(fmt.Sprintf("%s/%s CA", pgc.Namespace, pgc.Name), caLifetime, now)
		if err != nil {
			return "", err
		}
		data := map[string][]byte{caCertKey: ca.Cert, caKeyKey: ca.Key}
		if err := c.putSecret(ctx, pgc, nil, CASecretName(pgc.Name), corev1.SecretTypeOpaque, data); err != nil {
			return "", err
		}
		t.ca = ca
		if pgc.Spec.TLS.ServerCertificate == nil {
			t.serverBundle = ca.Cert // a user's server certificate keeps its own CA
		}
		did = append(did, "created the CA in Secret "+CASecretName(pgc.Name))
	}
	if pgc.Spec.TLS.ServerCertificate == nil && (t.caMissing || t.renewServer != "") {
		if err := c.issueServerCert(ctx, pgc, t); err != nil {
			return "", err
		}
		t.serverBundle = t.ca.Cert
		did = append(did, "issued the server certificate in Secret "+ServerTLSSecretName(pgc.Name))
	}
	if t.caMissing || t.renewServer != "" || t.renewClient != "" {
		if err := c.issueClientCert(ctx, pgc, t); err != nil {
			return "", err
		}
		did = append(did, "issued the superuser's client certificate in Secret "+ClientTLSSecretName(pgc.Name))
	}
	return strings.Join(did, "; "), nil
}

func (c *Cluster) issueServerCert(ctx context.Context, pgc *v1alpha1.PostgresCluster, t tlsObs) error {
	pair, err := pki.Issue(t.ca, pki.Request{CommonName: RWServiceName(pgc.Name), DNSNames: serverDNSNames(pgc),
		Lifetime: certLifetime(pgc)}, c.cfg.Clock.Now())
	if err != nil {
		return err
	}
	data := map[string][]byte{tlsCertKey: pair.Cert, tlsKeyKey: pair.Key, caCertKey: t.ca.Cert}
	return c.putSecret(ctx, pgc, t.server, ServerTLSSecretName(pgc.Name), corev1.SecretTypeTLS, data)
}

// issueClientCert issues the superuser's certificate: PostgreSQL's
// clientcert=verify-full matches its common name to the role.
func (c *Cluster) issueClientCert(ctx context.Context, pgc *v1alpha1.PostgresCluster, t tlsObs) error {
	pair, err := pki.Issue(t.ca, pki.Request{CommonName: superuserRole.name, Lifetime: certLifetime(pgc), Client: true}, c.cfg.Clock.Now())
	if err != nil {
		return err
	}
	data := map[string][]byte{tlsCertKey: pair.Cert, tlsKeyKey: pair.Key, caCertKey: t.serverBundle, clientCACertKey: t.ca.Cert}
	return c.putSecret(ctx, pgc, t.client, ClientTLSSecretName(pgc.Name), corev1.SecretTypeTLS, data)
}

// putSecret creates the operator's Secret, or patches the data of the one
// the cache shows (the operator may patch Secrets, never update them
// whole: RBAC).
func (c *Cluster) putSecret(ctx context.Context, pgc *v1alpha1.PostgresCluster, live *corev1.Secret, name string, typ corev1.SecretType, data map[string][]byte) error {
	api := c.cfg.Kube.CoreV1().Secrets(pgc.Namespace)
	if live == nil || live.Name != name {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pgc.Namespace, Labels: clusterLabels(pgc.Name),
				OwnerReferences: []metav1.OwnerReference{ownerRef(pgc)}},
			Type: typ,
			Data: data,
		}
		if _, err := api.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating secret %s: %w", name, err)
		}
		return nil
	}
	return c.patchSecret(ctx, pgc.Namespace, name, "updating", dataPatch(data))
}
