// Package postgres is the only place in the operator that speaks SQL.
//
// The per-cluster actor (pkg/cluster) depends on the Client interface; New
// returns the real implementation on database/sql and lib/pq, and the fake
// sub-package provides an in-memory one for unit tests.
//
// Design choices, each explained where it is implemented:
//
//   - One connection per call, closed before returning (conn.go). Nothing is
//     cached, so nothing can leak or go stale across failovers, pod IP reuse or
//     password rotation.
//   - Every call is bounded: a connect timeout, a server-side
//     statement_timeout and a hard client-side deadline that closes the socket
//     (conn.go), so a dead or hung member cannot stall a reconcile pass.
//   - Errors tell "could not talk to the server" apart from "the server said
//     no" (errors.go): failover decisions depend on it.
//   - The superuser password lives only in Endpoint and in the DSN handed to
//     lib/pq; Endpoint redacts it when printed and no error carries it.
package postgres
