package cluster

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"postgres-operator.dev/postgres-operator/pkg/pki"
)

// A verification is reused while the certificate and the time allow, and
// done again when either moves on.
func TestCertMemoReusesUnchangedChecks(t *testing.T) {
	var m certMemo
	p := pki.Pair{Cert: []byte("not a certificate"), Key: []byte("k")}
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	_, err := m.check("server", p, []byte("bundle"), []string{"a"}, x509.ExtKeyUsageServerAuth, now)
	assert.Error(t, err)

	m.entries["server"] = certCheck{digest: m.entries["server"].digest, at: now, err: nil} // what a real check would have said
	_, err = m.check("server", p, []byte("bundle"), []string{"a"}, x509.ExtKeyUsageServerAuth, now.Add(30*time.Second))
	assert.NoError(t, err, "the same inputs within certRecheck: the remembered answer")

	_, err = m.check("server", p, []byte("bundle"), []string{"b"}, x509.ExtKeyUsageServerAuth, now.Add(30*time.Second))
	assert.Error(t, err, "another name: checked again")
	m.entries["server"] = certCheck{digest: m.entries["server"].digest, at: now}
	_, err = m.check("server", p, []byte("bundle"), []string{"b"}, x509.ExtKeyUsageServerAuth, now.Add(certRecheck))
	assert.Error(t, err, "after certRecheck: checked again")

	assert.NotEqual(t, digestOf([]byte("ab"), []byte("c")), digestOf([]byte("a"), []byte("bc")), "parts are delimited")
}
