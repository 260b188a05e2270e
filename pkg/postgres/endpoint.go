package postgres

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// Endpoint identifies one PostgreSQL instance and how to log in to it.
//
// Password is secret. String, GoString and MarshalLog leave it out, so
// printing or logging an Endpoint does not leak it, and it is never
// serialized to JSON.
type Endpoint struct {
	Host     string
	Port     int    // 5432 when zero
	User     string // "postgres" when empty
	Password string `json:"-"`
	Database string // "postgres" when empty
	// TLS, when set, makes the connection verify the server (verify-full)
	// and present a client certificate; nil connects in plain text, for
	// members started before TLS existed.
	TLS *TLS `json:"-"`
}

// TLS is what verifies a member and authenticates the operator to it.
// Host stays the pod's IP (hostaddr); the certificate is checked against
// ServerName, a name every member's certificate carries.
type TLS struct {
	ServerName string
	RootCAs    []byte // PEM bundle the server's certificate must chain to
	Cert, Key  []byte // PEM client certificate and key; empty: none
	// SkipVerify encrypts without checking the server (sslmode=require):
	// the operator's way to keep control of a cluster whose certificate
	// is wrong, which it reports instead.
	SkipVerify bool
}

// Address is "host:port", the form used in errors and logs.
func (e Endpoint) Address() string {
	return net.JoinHostPort(e.Host, strconv.Itoa(e.port()))
}

// String identifies the endpoint without its password.
func (e Endpoint) String() string { return e.user() + "@" + e.Address() + "/" + e.database() }

// GoString keeps %#v from printing the password.
func (e Endpoint) GoString() string { return "postgres.Endpoint{" + e.String() + "}" }

// MarshalLog keeps logr-based loggers (klog, zapr) from printing the password.
func (e Endpoint) MarshalLog() any { return e.String() }

func (e Endpoint) port() int {
	if e.Port == 0 {
		return 5432
	}
	return e.Port
}

func (e Endpoint) user() string {
	if e.User == "" {
		return "postgres"
	}
	return e.User
}

func (e Endpoint) database() string {
	if e.Database == "" {
		return "postgres"
	}
	return e.Database
}

// dsn builds a lib/pq key=value connection string. Every value is quoted, so
// passwords with spaces, quotes or backslashes survive.
//
// statementTimeout becomes the session's statement_timeout (0 = none), sent
// in the startup packet so it costs no extra round trip.
func (e Endpoint) dsn(connectTimeout, statementTimeout time.Duration) string {
	kv := []kv{
		{"host", e.serverName()},
		{"port", strconv.Itoa(e.port())},
		{"user", e.user()},
		{"password", e.Password},
		{"dbname", e.database()},
		{"connect_timeout", strconv.Itoa(ceilSeconds(connectTimeout))},
		{"application_name", "postgres-operator"},
		{"statement_timeout", strconv.FormatInt(statementTimeout.Milliseconds(), 10)},
	}
	kv = append(kv, e.tlsParams()...)
	var b strings.Builder
	for i, p := range kv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(quoteDSNValue(p.v))
	}
	return b.String()
}

// quoteDSNValue quotes v for a key=value connection string: single quotes
// around it, and a backslash before every backslash and single quote inside.
func quoteDSNValue(v string) string {
	return "'" + dsnQuoter.Replace(v) + "'"
}

// dsnQuoter is built once: a Replacer builds its tables on first use, and
// a connection string is quoted on every call to every member.
var dsnQuoter = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

// ceilSeconds rounds d up to whole seconds, at least 1: lib/pq's
// connect_timeout has a resolution of one second and 0 would mean "forever".
func ceilSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

type kv struct{ k, v string }

// tlsParams: with TLS, host names the certificate and hostaddr the pod;
// the PEM travels inline (sslinline), so no file is written. Without,
// sslmode=disable.
//
// lib/pq's sslinline demands a client certificate, so without one (its
// Secret deleted, until the operator issues it again) the connection is
// encrypted but does not verify the server: sslmode=require, as with
// SkipVerify, rather than no connection at all.
func (e Endpoint) tlsParams() []kv {
	if e.TLS == nil {
		return []kv{{"sslmode", "disable"}}
	}
	if len(e.TLS.Cert) == 0 {
		return []kv{{"hostaddr", e.Host}, {"sslmode", "require"}}
	}
	out := []kv{{"hostaddr", e.Host}, {"sslmode", "verify-full"}, {"sslinline", "true"}}
	if e.TLS.SkipVerify {
		out[1].v = "require"
	} else {
		out = append(out, kv{"sslrootcert", string(e.TLS.RootCAs)})
	}
	return append(out, kv{"sslcert", string(e.TLS.Cert)}, kv{"sslkey", string(e.TLS.Key)})
}

// serverName is libpq's host: the address itself, or with TLS the name
// the certificate is checked against (hostaddr then holds the address).
func (e Endpoint) serverName() string {
	if e.TLS == nil {
		return e.Host
	}
	return e.TLS.ServerName
}
