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
// sslmode=disable: the operator talks to pods over the cluster network and
// the members do not have server certificates yet. Switch to verify-full
// once they do.
//
// statementTimeout becomes the session's statement_timeout (0 = none), sent
// in the startup packet so it costs no extra round trip.
func (e Endpoint) dsn(connectTimeout, statementTimeout time.Duration) string {
	kv := []struct{ k, v string }{
		{"host", e.Host},
		{"port", strconv.Itoa(e.port())},
		{"user", e.user()},
		{"password", e.Password},
		{"dbname", e.database()},
		{"sslmode", "disable"},
		{"connect_timeout", strconv.Itoa(ceilSeconds(connectTimeout))},
		{"application_name", "postgres-operator"},
		{"statement_timeout", strconv.FormatInt(statementTimeout.Milliseconds(), 10)},
	}
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
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

// ceilSeconds rounds d up to whole seconds, at least 1: lib/pq's
// connect_timeout has a resolution of one second and 0 would mean "forever".
func ceilSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
