package cluster

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/pki"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// tlsObs is what one pass knows of the cluster's certificates.
type tlsObs struct {
	ca        pki.Pair // the issuing CA; empty when missing or unusable
	caMissing bool     // the operator's own CA Secret does not exist
	caProblem string   // why the CA cannot issue ("" when it can)
	caExpiry  time.Time

	server        *corev1.Secret // the Secret the members serve with (nil: missing)
	serverBundle  []byte         // what server certificates must chain to
	serverExpiry  time.Time
	serverProblem string // why the operator cannot verify the server ("" when it can)
	renewServer   string // why the operator must issue the server certificate ("" when not)

	client      *corev1.Secret // the superuser's client certificate (nil: missing)
	renewClient string         // why the operator must issue it ("" when not)
}

// observeTLS reads the certificates and decides how the operator connects
// to each member: verify-full with the client certificate when it can, an
// unverified TLS connection when the certificate is wrong (reported, and
// never a reason to lose the cluster), plain text for a pod from before TLS.
func (c *Cluster) observeTLS(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) error {
	t := &obs.tls
	now := c.cfg.Clock.Now()
	if err := c.observeCA(ctx, pgc, t, now); err != nil {
		return err
	}
	if err := c.observeServerCert(ctx, pgc, t, now); err != nil {
		return err
	}
	client, err := c.ownSecret(pgc, ClientTLSSecretName(pgc.Name))
	if err != nil {
		return err
	}
	t.client = client
	t.renewClient = c.clientCertProblem(t, now)
	conn := t.connection(pgc)
	for _, m := range obs.members {
		if m.pod != nil && podHasTLS(m.pod) {
			m.tls = conn
		}
	}
	return nil
}

// observeCA reads the issuing CA: the user's (spec.tls.ca, read from the
// API: the cache holds only labelled Secrets) or the operator's.
func (c *Cluster) observeCA(ctx context.Context, pgc *v1alpha1.PostgresCluster, t *tlsObs, now time.Time) error {
	var s *corev1.Secret
	var err error
	if ref := pgc.Spec.TLS.CA; ref != nil {
		s, err = c.userSecret(ctx, pgc.Namespace, ref.Secret)
		if s == nil && err == nil {
			t.caProblem = fmt.Sprintf("Secret %s (spec.tls.ca) does not exist", ref.Secret)
			return nil
		}
	} else {
		s, err = c.ownSecret(pgc, CASecretName(pgc.Name))
		t.caMissing = s == nil && err == nil
	}
	if err != nil || s == nil {
		return err
	}
	ca := pki.Pair{Cert: s.Data[caCertKey], Key: s.Data[caKeyKey]}
	if err := c.certs.checkCA(ca, now); err != nil {
		t.caProblem = fmt.Sprintf("Secret %s cannot issue certificates (keys %s and %s): %v", s.Name, caCertKey, caKeyKey, err)
		return nil
	}
	t.ca = ca
	if expiry, ok := c.certs.expiry("ca", ca.Cert); ok {
		t.caExpiry = expiry
	}
	return nil
}

// observeServerCert reads the certificate the members serve with and
// checks it the way a client will.
func (c *Cluster) observeServerCert(ctx context.Context, pgc *v1alpha1.PostgresCluster, t *tlsObs, now time.Time) error {
	user := pgc.Spec.TLS.ServerCertificate != nil
	var s *corev1.Secret
	var err error
	if user {
		s, err = c.userSecret(ctx, pgc.Namespace, serverSecretName(pgc))
	} else {
		s, err = c.ownSecret(pgc, ServerTLSSecretName(pgc.Name))
	}
	if err != nil {
		return err
	}
	t.server = s
	t.serverBundle = t.ca.Cert
	if user && s != nil && len(s.Data[caCertKey]) > 0 && pgc.Spec.TLS.CA == nil {
		t.serverBundle = s.Data[caCertKey]
	}
	if s == nil {
		t.serverProblem = fmt.Sprintf("Secret %s does not exist", serverSecretName(pgc))
		if !user {
			t.renewServer = "issuing the members' server certificate"
		}
		return nil
	}
	pair := pki.Pair{Cert: s.Data[tlsCertKey], Key: s.Data[tlsKeyKey]}
	expiry, err := c.certs.check("server", pair, t.serverBundle, requiredServerNames(pgc), x509.ExtKeyUsageServerAuth, now)
	t.serverExpiry = expiry
	if err != nil {
		t.serverProblem = fmt.Sprintf("the server certificate in Secret %s cannot be verified: %v", s.Name, err)
	}
	if !user {
		switch {
		case err != nil:
			t.renewServer = "replacing the server certificate: " + err.Error()
		case c.certs.dueForRenewal("server", pair.Cert, now):
			t.renewServer = fmt.Sprintf("renewing the server certificate, which expires at %s", expiry.UTC().Format(time.RFC3339))
		case !bytes.Equal(s.Data[caCertKey], t.ca.Cert):
			t.renewServer = "updating the CA in Secret " + s.Name
		}
	}
	return nil
}

// clientCertProblem says why the superuser's client certificate must be
// issued again, or "".
func (c *Cluster) clientCertProblem(t *tlsObs, now time.Time) string {
	s := t.client
	if s == nil {
		return "issuing the superuser's client certificate"
	}
	pair := pki.Pair{Cert: s.Data[tlsCertKey], Key: s.Data[tlsKeyKey]}
	expiry, err := c.certs.check("client", pair, t.ca.Cert, nil, x509.ExtKeyUsageClientAuth, now)
	switch {
	case err != nil:
		return "replacing the superuser's client certificate: " + err.Error()
	case c.certs.dueForRenewal("client", pair.Cert, now):
		return fmt.Sprintf("renewing the superuser's client certificate, which expires at %s", expiry.UTC().Format(time.RFC3339))
	case !bytes.Equal(s.Data[caCertKey], t.serverBundle) || !bytes.Equal(s.Data[clientCACertKey], t.ca.Cert):
		return "updating the CAs in Secret " + s.Name
	}
	return ""
}

// connection is how the operator connects to members that serve TLS.
func (t *tlsObs) connection(pgc *v1alpha1.PostgresCluster) *postgres.TLS {
	conn := &postgres.TLS{ServerName: memberServerName(pgc), RootCAs: t.serverBundle, SkipVerify: t.serverProblem != ""}
	if t.client != nil {
		conn.Cert, conn.Key = t.client.Data[tlsCertKey], t.client.Data[tlsKeyKey]
	}
	return conn
}

// ownSecret reads a Secret the operator made from the cache; nil when it
// does not exist.
func (c *Cluster) ownSecret(pgc *v1alpha1.PostgresCluster, name string) (*corev1.Secret, error) {
	s, err := c.cfg.Listers.Secrets.Secrets(pgc.Namespace).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading secret %s: %w", name, err)
	}
	return s, nil
}

// userSecret reads a Secret the user named from the API (the cache holds
// only the operator's): one read per pass and Secret, which also keeps a
// renewed certificate (cert-manager's) in view. nil when it does not exist.
func (c *Cluster) userSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	s, err := c.cfg.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading secret %s: %w", name, err)
	}
	return s, nil
}
