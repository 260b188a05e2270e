package pki

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestIssuedServerCertificateServesItsNames(t *testing.T) {
	ca, err := NewCA("pg-ca", 24*time.Hour, now)
	require.NoError(t, err)
	require.NoError(t, CheckCA(ca, now))
	srv, err := Issue(ca, Request{CommonName: "pg-rw", DNSNames: []string{"pg-rw", "pg-rw.ns.svc"}, Lifetime: time.Hour}, now)
	require.NoError(t, err)

	expiry, err := Check(srv, ca.Cert, []string{"pg-rw.ns.svc"}, x509.ExtKeyUsageServerAuth, now)
	require.NoError(t, err)
	assert.Equal(t, now.Add(time.Hour), expiry)

	_, err = Check(srv, ca.Cert, []string{"other.ns.svc"}, x509.ExtKeyUsageServerAuth, now)
	assert.Error(t, err, "a name the certificate does not list")
	_, err = Check(srv, ca.Cert, nil, x509.ExtKeyUsageServerAuth, now.Add(2*time.Hour))
	assert.Error(t, err, "expired")
	other, _ := NewCA("other", time.Hour, now)
	_, err = Check(srv, other.Cert, nil, x509.ExtKeyUsageServerAuth, now)
	assert.Error(t, err, "signed by another CA")
	_, err = Check(Pair{Cert: srv.Cert, Key: other.Key}, ca.Cert, nil, x509.ExtKeyUsageServerAuth, now)
	assert.Error(t, err, "a key that is not the certificate's")
}

func TestClientCertificateIsForClientsOnly(t *testing.T) {
	ca, _ := NewCA("pg-ca", 24*time.Hour, now)
	cl, err := Issue(ca, Request{CommonName: "postgres", Lifetime: time.Hour, Client: true}, now)
	require.NoError(t, err)
	_, err = Check(cl, ca.Cert, nil, x509.ExtKeyUsageClientAuth, now)
	assert.NoError(t, err)
	_, err = Check(cl, ca.Cert, nil, x509.ExtKeyUsageServerAuth, now)
	assert.Error(t, err)
}

func TestIssuedCertificateNeverOutlivesItsCA(t *testing.T) {
	ca, _ := NewCA("pg-ca", time.Hour, now)
	srv, err := Issue(ca, Request{CommonName: "x", Lifetime: 48 * time.Hour}, now)
	require.NoError(t, err)
	cert, err := ParseCert(srv.Cert)
	require.NoError(t, err)
	assert.Equal(t, now.Add(time.Hour), cert.NotAfter)
}

func TestRenewalWhenAThirdIsLeft(t *testing.T) {
	ca, _ := NewCA("pg-ca", 24*time.Hour, now)
	srv, _ := Issue(ca, Request{CommonName: "x", Lifetime: 3 * time.Hour}, now)
	assert.False(t, DueForRenewal(srv.Cert, now.Add(time.Hour)))
	assert.False(t, DueForRenewal(srv.Cert, now.Add(119*time.Minute)))
	assert.True(t, DueForRenewal(srv.Cert, now.Add(121*time.Minute)))
	assert.True(t, DueForRenewal([]byte("garbage"), now), "an unreadable certificate is replaced")
}

func TestCheckCARefusesALeaf(t *testing.T) {
	ca, _ := NewCA("pg-ca", 24*time.Hour, now)
	leaf, _ := Issue(ca, Request{CommonName: "x", Lifetime: time.Hour}, now)
	assert.ErrorContains(t, CheckCA(leaf, now), "not a CA")
	assert.ErrorContains(t, CheckCA(ca, now.Add(25*time.Hour)), "expired")
}
