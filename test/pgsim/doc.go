// Package pgsim answers the PostgreSQL wire protocol the way a healthy
// PostgreSQL 15 primary of a size-1 cluster would, for exactly the queries
// the operator's client (pkg/postgres) sends, and nothing else.
//
// It exists for the scale bench (issue 12): kwok simulates thousands of
// pods without containers, and pgsim stands in for the PostgreSQL they
// would run, so the real operator binary, unchanged, probes, configures and
// manages them over TLS. One process answers every simulated member: a
// member's state (roles, databases, ALTER SYSTEM settings, replication
// slots, WAL position) is kept per cluster and local address.
//
// Layout: wire.go and startup.go speak the protocol, session.go,
// simple.go and extended.go run a connection, queries.go is the table of
// what the operator asks and which handler answers it (handlers_*.go),
// member.go and catalog.go hold the simulated state, certs.go issues the
// server certificates (from each cluster's CA, see CASource).
package pgsim
