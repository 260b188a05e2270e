package cluster

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// Renewal and expiry times are read once per certificate and agree with
// pki's own answer on either side of the renewal time; a new certificate
// under the same kind is read anew.
func TestCertMemoKeepsRenewalTimesPerCertificate(t *testing.T) {
	start := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	ca, err := pki.NewCA("memo CA", 30*24*time.Hour, start)
	require.NoError(t, err)
	first, err := pki.Issue(ca, pki.Request{CommonName: "a", Lifetime: 9 * time.Hour}, start)
	require.NoError(t, err)
	renewAt, expiry, err := pki.RenewalTimes(first.Cert)
	require.NoError(t, err)

	var m certMemo
	for _, now := range []time.Time{renewAt.Add(-time.Second), renewAt.Add(time.Second)} {
		assert.Equal(t, pki.DueForRenewal(first.Cert, now), m.dueForRenewal("server", first.Cert, now), "at %s", now)
	}
	assert.False(t, m.dueForRenewal("server", first.Cert, renewAt.Add(-time.Second)))
	got, ok := m.expiry("server", first.Cert)
	assert.True(t, ok)
	assert.Equal(t, expiry, got)

	second, err := pki.Issue(ca, pki.Request{CommonName: "a", Lifetime: 90 * time.Hour}, start)
	require.NoError(t, err)
	assert.False(t, m.dueForRenewal("server", second.Cert, renewAt.Add(time.Second)), "the renewed certificate's own times")
	assert.True(t, m.dueForRenewal("server", []byte("garbage"), start), "unreadable: due, as pki says")
	_, ok = m.expiry("ca", []byte("garbage"))
	assert.False(t, ok)
}
