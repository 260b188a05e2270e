package postgres

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const nastyPassword = `p@ss w'rd "with" \back\slash\ and	tab=x '' end\`

func TestDSNRoundTripsThroughLibPQ(t *testing.T) {
	ep := Endpoint{Host: "10.1.2.3", Port: 6432, User: "o'neil", Password: nastyPassword, Database: "my db"}
	cfg, err := pq.NewConfig(ep.dsn(2*time.Second, 5*time.Second))
	require.NoError(t, err)
	assert.Equal(t, "10.1.2.3", cfg.Host)
	assert.Equal(t, uint16(6432), cfg.Port)
	assert.Equal(t, "o'neil", cfg.User)
	assert.Equal(t, nastyPassword, cfg.Password)
	assert.Equal(t, "my db", cfg.Database)
	assert.Equal(t, pq.SSLModeDisable, cfg.SSLMode)
	assert.Equal(t, 2*time.Second, cfg.ConnectTimeout)
	assert.Equal(t, "postgres-operator", cfg.ApplicationName)
	assert.Equal(t, map[string]string{"statement_timeout": "5000"}, cfg.Runtime)
}

func TestDSNDefaults(t *testing.T) {
	cfg, err := pq.NewConfig(Endpoint{Host: "db"}.dsn(1500*time.Millisecond, 0))
	require.NoError(t, err)
	assert.Equal(t, uint16(5432), cfg.Port)
	assert.Equal(t, "postgres", cfg.User)
	assert.Equal(t, "postgres", cfg.Database)
	assert.Equal(t, "", cfg.Password)
	assert.Equal(t, 2*time.Second, cfg.ConnectTimeout, "rounded up to whole seconds")
	assert.Equal(t, "0", cfg.Runtime["statement_timeout"])
}

func TestQuoteDSNValue(t *testing.T) {
	assert.Equal(t, `''`, quoteDSNValue(""))
	assert.Equal(t, `'a b'`, quoteDSNValue("a b"))
	assert.Equal(t, `'it\'s'`, quoteDSNValue("it's"))
	assert.Equal(t, `'c:\\dir'`, quoteDSNValue(`c:\dir`))
}

func TestCeilSeconds(t *testing.T) {
	assert.Equal(t, 1, ceilSeconds(0))
	assert.Equal(t, 1, ceilSeconds(time.Millisecond))
	assert.Equal(t, 1, ceilSeconds(time.Second))
	assert.Equal(t, 2, ceilSeconds(1001*time.Millisecond))
}

func TestEndpointNeverPrintsPassword(t *testing.T) {
	ep := Endpoint{Host: "10.0.0.7", Password: "hunter2-secret"}
	js, err := json.Marshal(ep)
	require.NoError(t, err)
	for _, s := range []string{
		fmt.Sprint(ep), fmt.Sprintf("%v", ep), fmt.Sprintf("%+v", ep), fmt.Sprintf("%#v", ep),
		fmt.Sprintf("%s", ep), fmt.Sprint(ep.MarshalLog()), fmt.Sprintf("%v", &ep), string(js),
	} {
		assert.NotContains(t, s, "hunter2")
	}
	assert.Equal(t, "postgres@10.0.0.7:5432/postgres", ep.String())
	assert.Equal(t, "[fd00::1]:5433", Endpoint{Host: "fd00::1", Port: 5433}.Address())
}

func TestDSNWithTLSVerifiesTheNameAndDialsTheAddress(t *testing.T) {
	ep := Endpoint{Host: "10.244.0.7", Password: "pw", TLS: &TLS{ServerName: "pg-rw.ns.svc",
		RootCAs: []byte("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"), Cert: []byte("C"), Key: []byte("K")}}
	cfg, err := pq.NewConfig(ep.dsn(2*time.Second, 0))
	require.NoError(t, err)
	assert.Equal(t, "pg-rw.ns.svc", cfg.Host)
	assert.Equal(t, "10.244.0.7", cfg.Hostaddr.String())
	assert.Equal(t, pq.SSLModeVerifyFull, cfg.SSLMode)
	assert.True(t, cfg.SSLInline)
	assert.Contains(t, cfg.SSLRootCert, "BEGIN CERTIFICATE")
	assert.Equal(t, "C", cfg.SSLCert)
	assert.NotContains(t, ep.String(), "pw")
}

func TestDSNWithoutTLSIsPlainText(t *testing.T) {
	cfg, err := pq.NewConfig(Endpoint{Host: "10.244.0.7"}.dsn(time.Second, 0))
	require.NoError(t, err)
	assert.Equal(t, "10.244.0.7", cfg.Host)
	assert.Equal(t, pq.SSLModeDisable, cfg.SSLMode)
}

// lib/pq's inline PEM needs a client certificate: without one (its Secret
// deleted) the connection is still encrypted, and still made.
func TestDSNWithTLSButNoClientCertificateIsEncryptedUnverified(t *testing.T) {
	ep := Endpoint{Host: "10.244.0.7", TLS: &TLS{ServerName: "pg-rw.ns.svc", RootCAs: []byte("ca")}}
	cfg, err := pq.NewConfig(ep.dsn(time.Second, 0))
	require.NoError(t, err)
	assert.Equal(t, pq.SSLModeRequire, cfg.SSLMode)
	assert.False(t, cfg.SSLInline)
	assert.Equal(t, "10.244.0.7", cfg.Hostaddr.String())
	assert.Empty(t, cfg.SSLCert)
}

// Finding a kept connection writes the connection string into a reused
// buffer: no copy of the inline PEM blocks, and the same string dsn gives.
func TestConnStringDigestsWithoutCopyingThePEM(t *testing.T) {
	pem := []byte(strings.Repeat("PEM-data-", 300))
	ep := Endpoint{Host: "10.244.0.7", Password: "it's", TLS: &TLS{ServerName: "demo", RootCAs: pem, Cert: pem, Key: pem}}
	key, b := connString(ep, time.Second, 5*time.Second)
	assert.Equal(t, ep.dsn(time.Second, 5*time.Second), b.String())
	assert.Equal(t, sha256.Sum256([]byte(b.String())), key)
	dsnBuffers.Put(b)

	// Into a buffer that is reused (connString takes it from a sync.Pool,
	// which the race detector makes drop some on purpose).
	var reused bytes.Buffer
	allocs := testing.AllocsPerRun(100, func() {
		reused.Reset()
		ep.writeDSN(&reused, time.Second, 5*time.Second)
	})
	assert.LessOrEqual(t, allocs, 3.0, "a few small numbers' strings at most")
}

// quoteDSNValue is writeQuoted as a string.
func quoteDSNValue(v string) string {
	var b bytes.Buffer
	writeQuoted(&b, v)
	return b.String()
}
