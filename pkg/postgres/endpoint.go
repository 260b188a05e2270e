package postgres

import (
	"bytes"
	"net"
	"strconv"
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
	var b bytes.Buffer
	e.writeDSN(&b, connectTimeout, statementTimeout)
	return b.String()
}

// writeDSN writes dsn's connection string into b. Why a buffer: every call
// to every member needs the string's digest to find its kept connection
// (pool.go), and with TLS the string carries three PEM blocks inline; built
// as a string, with the PEM copied into it, it was a sixth of an idle
// fleet's allocations, though a new connection needs it only once a minute.
func (e Endpoint) writeDSN(b *bytes.Buffer, connectTimeout, statementTimeout time.Duration) {
	writeParam(b, "host", e.serverName())
	writeParam(b, "port", strconv.Itoa(e.port()))
	writeParam(b, "user", e.user())
	writeParam(b, "password", e.Password)
	writeParam(b, "dbname", e.database())
	writeParam(b, "connect_timeout", strconv.Itoa(ceilSeconds(connectTimeout)))
	writeParam(b, "application_name", "postgres-operator")
	writeParam(b, "statement_timeout", strconv.FormatInt(statementTimeout.Milliseconds(), 10))
	e.writeTLSParams(b)
}

// writeParam writes key='value', after a space unless it is the first.
// The value is a string or, for the inline PEM, bytes: not copied.
func writeParam[V string | []byte](b *bytes.Buffer, k string, v V) {
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(k)
	b.WriteByte('=')
	writeQuoted(b, v)
}

// writeQuoted writes v for a key=value connection string: single quotes
// around it, and a backslash before every backslash and single quote inside.
func writeQuoted[V string | []byte](b *bytes.Buffer, v V) {
	b.WriteByte('\'')
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' || v[i] == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('\'')
}

// ceilSeconds rounds d up to whole seconds, at least 1: lib/pq's
// connect_timeout has a resolution of one second and 0 would mean "forever".
func ceilSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// writeTLSParams: with TLS, host names the certificate and hostaddr the
// pod; the PEM travels inline (sslinline), so no file is written. Without,
// sslmode=disable.
//
// lib/pq's sslinline demands a client certificate, so without one (its
// Secret deleted, until the operator issues it again) the connection is
// encrypted but does not verify the server: sslmode=require, as with
// SkipVerify, rather than no connection at all.
func (e Endpoint) writeTLSParams(b *bytes.Buffer) {
	if e.TLS == nil {
		writeParam(b, "sslmode", "disable")
		return
	}
	writeParam(b, "hostaddr", e.Host)
	if len(e.TLS.Cert) == 0 {
		writeParam(b, "sslmode", "require")
		return
	}
	mode := "verify-full"
	if e.TLS.SkipVerify {
		mode = "require"
	}
	writeParam(b, "sslmode", mode)
	writeParam(b, "sslinline", "true")
	if !e.TLS.SkipVerify {
		writeParam(b, "sslrootcert", e.TLS.RootCAs)
	}
	writeParam(b, "sslcert", e.TLS.Cert)
	writeParam(b, "sslkey", e.TLS.Key)
}

// serverName is libpq's host: the address itself, or with TLS the name
// the certificate is checked against (hostaddr then holds the address).
func (e Endpoint) serverName() string {
	if e.TLS == nil {
		return e.Host
	}
	return e.TLS.ServerName
}
