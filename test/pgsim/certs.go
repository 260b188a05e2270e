package pgsim

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/pki"
)

// CASource finds the CA of a cluster: in Kubernetes, Secret <cluster>-ca
// in its namespace (KubeCASource); a map in tests.
type CASource interface {
	CA(ctx context.Context, namespace, cluster string) (pki.Pair, error)
}

// serverTLSConfig asks for the client's certificate, as members do, but
// verifies nothing: the simulation trusts every client (see login).
//
// Key exchange is X25519 alone: Go's default adds ML-KEM-768, which costs
// the simulator a third more CPU per handshake, and a Go client (lib/pq)
// always offers an X25519 share too, so no extra round trip results.
func serverTLSConfig(certs *certCache) *tls.Config {
	return &tls.Config{
		GetCertificate:   certs.get,
		ClientAuth:       tls.RequestClientCert,
		MinVersion:       tls.VersionTLS12,
		CurvePreferences: []tls.CurveID{tls.X25519},
	}
}

// serverName is what the client sent as SNI, split: lib/pq sends the
// endpoint's host, which the operator sets to <cluster>-rw.<namespace>.svc
// (pkg/cluster memberServerName).
type serverName struct {
	namespace, cluster string
}

// parseServerName accepts the names a member's certificate carries:
// <cluster>-rw or -ro, then .<namespace>, .svc, .svc.cluster.local.
func parseServerName(sni string) (serverName, bool) {
	host := strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(sni), "."), ".cluster.local")
	host = strings.TrimSuffix(host, ".svc")
	svc, ns, ok := strings.Cut(host, ".")
	if !ok || ns == "" || strings.Contains(ns, ".") {
		return serverName{}, false
	}
	for _, suffix := range []string{"-rw", "-ro"} {
		if cluster, found := strings.CutSuffix(svc, suffix); found && cluster != "" {
			return serverName{namespace: ns, cluster: cluster}, true
		}
	}
	return serverName{}, false
}

// clusterOf names the cluster a connection is for ("namespace/cluster"),
// or "" when the server name says nothing.
func clusterOf(sni string) string {
	n, ok := parseServerName(sni)
	if !ok {
		return ""
	}
	return n.namespace + "/" + n.cluster
}

// dnsNames are the names pkg/cluster puts in the server certificate
// (serverDNSNames): each Service's, short and qualified.
func dnsNames(n serverName) []string {
	var out []string
	for _, svc := range []string{n.cluster + "-rw", n.cluster + "-ro"} {
		out = append(out, svc, svc+"."+n.namespace, svc+"."+n.namespace+".svc",
			svc+"."+n.namespace+".svc.cluster.local")
	}
	return out
}

// certLifetime of the certificates pgsim issues (never past the CA's
// expiry). They are renewed as the operator renews its own
// (pki.DueForRenewal), or at once when the cluster's CA changes.
const certLifetime = 30 * 24 * time.Hour

// certCache issues one server certificate per cluster, from its CA.
type certCache struct {
	src CASource
	now func() time.Time

	mu    sync.Mutex
	certs map[serverName]*issuedCert
}

// issuedCert is a cluster's certificate; mu serializes its issuing, so
// the first handshakes of a cluster issue it once.
type issuedCert struct {
	mu   sync.Mutex
	ca   []byte // the CA certificate it was issued from
	cert *tls.Certificate
	pem  []byte
}

func newCertCache(src CASource, now func() time.Time) *certCache {
	return &certCache{src: src, now: now, certs: map[serverName]*issuedCert{}}
}

// get is tls.Config.GetCertificate.
func (c *certCache) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name, ok := parseServerName(hello.ServerName)
	if !ok {
		return nil, fmt.Errorf("pgsim: server name %q is not <cluster>-rw.<namespace>.svc", hello.ServerName)
	}
	return c.certificate(hello.Context(), name)
}

func (c *certCache) certificate(ctx context.Context, name serverName) (*tls.Certificate, error) {
	ca, err := c.src.CA(ctx, name.namespace, name.cluster)
	if err != nil {
		return nil, fmt.Errorf("pgsim: CA of %s/%s: %w", name.namespace, name.cluster, err)
	}
	c.mu.Lock()
	ic := c.certs[name]
	if ic == nil {
		ic = &issuedCert{}
		c.certs[name] = ic
	}
	c.mu.Unlock()

	ic.mu.Lock()
	defer ic.mu.Unlock()
	now := c.now()
	if ic.cert != nil && bytes.Equal(ic.ca, ca.Cert) && !pki.DueForRenewal(ic.pem, now) {
		return ic.cert, nil
	}
	cert, pem, err := issue(ca, name, now)
	if err != nil {
		return nil, err
	}
	ic.ca, ic.cert, ic.pem = ca.Cert, cert, pem
	return cert, nil
}

// issue makes the server certificate pkg/cluster would (issueServerCert):
// the same names, signed by the cluster's CA, which is all a verify-full
// client checks.
func issue(ca pki.Pair, name serverName, now time.Time) (*tls.Certificate, []byte, error) {
	pair, err := pki.Issue(ca, pki.Request{CommonName: name.cluster + "-rw", DNSNames: dnsNames(name), Lifetime: certLifetime}, now)
	if err != nil {
		return nil, nil, fmt.Errorf("pgsim: issuing for %s/%s: %w", name.namespace, name.cluster, err)
	}
	cert, err := tls.X509KeyPair(pair.Cert, pair.Key)
	if err != nil {
		return nil, nil, err
	}
	return &cert, pair.Cert, nil
}
