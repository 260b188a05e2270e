package cluster

import (
	"fmt"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// TLS is always on. Three Secrets per cluster, labelled and owned like the
// others:
//
//   - <cluster>-ca: the CA (ca.crt, ca.key) the operator issues with,
//     unless spec.tls.ca names the user's own;
//   - <cluster>-server-tls: the members' server certificate, valid for the
//     -rw and -ro Services' names, unless spec.tls.serverCertificate names
//     the user's own (cert-manager's, say);
//   - <cluster>-client-tls: the superuser's client certificate (CN
//     postgres), with ca.crt (what server certificates must chain to) and
//     client-ca.crt (the CA the members accept client certificates from).
//     The operator logs in with it, and so do the members' pg_rewind and
//     psql: with spec.superuserAccess off, the superuser's password alone
//     no longer logs in over TCP.
//
// The operator renews what it issued when a third of its life is left;
// members reload certificates without a restart (member.sh).

// CASecretName is the operator's CA for the cluster.
func CASecretName(cluster string) string { return cluster + "-ca" }

// ServerTLSSecretName is the server certificate the operator issues.
func ServerTLSSecretName(cluster string) string { return cluster + "-server-tls" }

// ClientTLSSecretName is the superuser's client certificate.
func ClientTLSSecretName(cluster string) string { return cluster + "-client-tls" }

// Keys of the TLS Secrets.
const (
	caCertKey       = "ca.crt"
	caKeyKey        = "ca.key"
	tlsCertKey      = "tls.crt"
	tlsKeyKey       = "tls.key"
	clientCACertKey = "client-ca.crt"
)

const (
	defaultCertLifetime = 90 * 24 * time.Hour
	caLifetime          = 10 * 365 * 24 * time.Hour
)

// certLifetime is spec.tls.certificateLifetime or its default.
func certLifetime(pgc *v1alpha1.PostgresCluster) time.Duration {
	if d := pgc.Spec.TLS.CertificateLifetime; d != nil && d.Duration > 0 {
		return d.Duration
	}
	return defaultCertLifetime
}

// serverDNSNames are the names a server certificate must carry: each
// Service's, short and qualified, as clients in and out of the namespace
// write them.
func serverDNSNames(pgc *v1alpha1.PostgresCluster) []string {
	var names []string
	for _, svc := range []string{RWServiceName(pgc.Name), ROServiceName(pgc.Name)} {
		names = append(names, svc, svc+"."+pgc.Namespace, svc+"."+pgc.Namespace+".svc",
			svc+"."+pgc.Namespace+".svc.cluster.local")
	}
	return names
}

// memberServerName is the name a direct connection to one member (the
// operator's, a standby pointed at a new primary's address) checks the
// certificate against: every member serves the same certificate, and the
// -rw Service's name is one a user-provided certificate must carry too.
func memberServerName(pgc *v1alpha1.PostgresCluster) string {
	return fmt.Sprintf("%s.%s.svc", RWServiceName(pgc.Name), pgc.Namespace)
}

// requiredServerNames are the names a user's server certificate must
// carry for the operator and the standbys to verify it.
func requiredServerNames(pgc *v1alpha1.PostgresCluster) []string {
	return []string{RWServiceName(pgc.Name), memberServerName(pgc)}
}

// serverSecretName is the Secret the members serve with.
func serverSecretName(pgc *v1alpha1.PostgresCluster) string {
	if s := pgc.Spec.TLS.ServerCertificate; s != nil {
		return s.Secret
	}
	return ServerTLSSecretName(pgc.Name)
}
