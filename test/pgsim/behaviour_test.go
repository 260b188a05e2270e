package pgsim

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/pki"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

func TestTLSVerifiesUnderTheClustersCA(t *testing.T) {
	f := startPgsim(t)
	pg, ctx := postgres.New(), context.Background()
	// tlsFor keeps the client certificate: lib/pq with sslinline fails
	// before the handshake without one.
	tlsFor := func(name string, root []byte) *postgres.TLS {
		return &postgres.TLS{ServerName: name, RootCAs: root, Cert: f.tls.Cert, Key: f.tls.Key}
	}
	ep := f.endpoint()

	other, err := pki.NewCA("other", time.Hour, time.Now())
	require.NoError(t, err)
	ep.TLS = tlsFor(f.tls.ServerName, other.Cert)
	_, err = pg.Probe(ctx, ep)
	require.ErrorContains(t, err, "certificate signed by unknown authority")

	ep.TLS = tlsFor("stranger-rw.ns1.svc", f.ca.Cert)
	_, err = pg.Probe(ctx, ep)
	require.ErrorContains(t, err, "tls: internal error", "a cluster whose CA pgsim cannot find gets no certificate")

	for _, name := range []string{"demo-ro.ns1", "demo-rw.ns1.svc.cluster.local"} {
		ep.TLS = tlsFor(name, f.ca.Cert)
		_, err = pg.Probe(ctx, ep)
		require.NoError(t, err, "the certificate carries %s", name)
	}
}

func TestPlainTextWorksToo(t *testing.T) {
	f := startPgsim(t)
	ep := f.endpoint()
	ep.TLS = nil // a member from before TLS
	st, err := postgres.New().Probe(context.Background(), ep)
	require.NoError(t, err)
	assert.False(t, st.InRecovery)
}

func TestAFailedTransactionChangesNothing(t *testing.T) {
	f := startPgsim(t)
	pg, ep, ctx := postgres.New(), f.endpoint(), context.Background()
	err := pg.EnsureManagedRole(ctx, ep, postgres.ManagedRole{Name: "lonely", ConnectionLimit: -1, InRoles: []string{"nosuchgroup"}}, "")
	require.Error(t, err)
	assert.Equal(t, "42704", postgres.SQLState(err))
	cat, err := pg.ReadCatalog(ctx, ep, []string{"lonely"}, nil)
	require.NoError(t, err)
	assert.Empty(t, cat.Roles, "the CREATE ROLE was rolled back with the GRANT")
}

func TestUnknownQueriesAreRefusedAndCounted(t *testing.T) {
	f := startPgsim(t)
	db := sql.OpenDB(mustConnector(t, f.endpointDSN()))
	defer db.Close()
	_, err := db.Exec("SELECT 42 AS answer")
	require.Error(t, err)
	assert.Equal(t, "0A000", postgres.SQLState(err))
	_, err = db.Query("SELECT * FROM pg_stat_activity WHERE pid = $1", 7)
	require.Error(t, err)
	assert.Equal(t, map[string]int64{"SELECT 42 AS answer": 1, "SELECT * FROM pg_stat_activity WHERE pid = $1": 1}, f.srv.Stats().Unknown)
	assert.NoError(t, db.Ping(), "the session goes on")
	var metrics strings.Builder
	require.NoError(t, f.srv.WriteMetrics(&metrics))
	assert.Contains(t, metrics.String(), `pgsim_unknown_statements_total{query="SELECT 42 AS answer"} 1`)
}

// endpointDSN is a plain-text DSN for direct lib/pq use.
func (f *fixture) endpointDSN() string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", f.port)
}

func mustConnector(t *testing.T, dsn string) *pq.Connector {
	c, err := pq.NewConnector(dsn)
	require.NoError(t, err)
	return c
}

// TestStateIsPerAddress: two simulated pods of one cluster (two local
// addresses) keep their own slots but report the cluster's system
// identifier.
func TestStateIsPerAddress(t *testing.T) {
	f := startPgsim(t)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	go func() { _ = f.srv.Serve(ln) }()
	pg, ctx := postgres.New(), context.Background()
	one, two := f.endpoint(), f.endpoint()
	two.Host, two.Port = "127.0.0.2", ln.Addr().(*net.TCPAddr).Port

	require.NoError(t, pg.EnsureSlot(ctx, one, "only_here"))
	slots, err := pg.Slots(ctx, two)
	require.NoError(t, err)
	assert.Empty(t, slots)
	a, err := pg.Probe(ctx, one)
	require.NoError(t, err)
	b, err := pg.Probe(ctx, two)
	require.NoError(t, err)
	assert.Equal(t, a.SystemIdentifier, b.SystemIdentifier)
}

// newConnectionEachCall is the client without connection reuse
// (pkg/postgres pool.go), as after an operator restart: every call opens
// TCP, TLS and a session.
var newConnectionEachCall = postgres.Timeouts{Reuse: -1}

// TestManyConcurrentConnections: 500 probes from 50 goroutines, each on
// its own TLS connection.
func TestManyConcurrentConnections(t *testing.T) {
	f := startPgsim(t)
	pg, ep := postgres.NewWithTimeouts(newConnectionEachCall), f.endpoint()
	const workers, each = 50, 10
	errs := make(chan error, workers*each)
	lsns := make(chan postgres.LSN, workers*each)
	for range workers {
		go func() {
			for range each {
				st, err := pg.Probe(context.Background(), ep)
				errs <- err
				lsns <- st.CurrentLSN
			}
		}()
	}
	seen := map[postgres.LSN]bool{}
	for range workers * each {
		require.NoError(t, <-errs)
		l := <-lsns
		assert.False(t, seen[l], "every probe sees the WAL further on")
		seen[l] = true
	}
	assert.Equal(t, int64(workers*each), f.srv.Stats().Connections)
	requireNoDrift(t, f.srv)
}

// BenchmarkProbe measures Probe calls as the operator makes them, on the
// connection its client keeps per member (pkg/postgres pool.go), from
// parallel clients. BenchmarkProbeNewConnection opens a connection per
// call (TCP, TLS handshake with a client certificate, startup, close):
// the cost after an operator restart, when every member is new to it.
//
// With PGSIM_ADDR (host:port), PGSIM_CA_CERT and PGSIM_CA_KEY they load a
// pgsim started apart (cmd/pgsim --ca-cert --ca-key), so that its own CPU
// can be measured without the client's.
// Each client goroutine has a client of its own, so each keeps its own
// connection, as for distinct members.
func BenchmarkProbe(b *testing.B) { benchProbes(b, postgres.DefaultTimeouts) }

func BenchmarkProbeNewConnection(b *testing.B) { benchProbes(b, newConnectionEachCall) }

func benchProbes(b *testing.B, timeouts postgres.Timeouts) {
	ep := benchEndpoint(b)
	b.SetParallelism(4)
	start := time.Now()
	b.RunParallel(func(p *testing.PB) {
		pg := postgres.NewWithTimeouts(timeouts)
		for p.Next() {
			if _, err := pg.Probe(context.Background(), ep); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "probes/s")
}

func benchEndpoint(b *testing.B) postgres.Endpoint {
	addr := os.Getenv("PGSIM_ADDR")
	if addr == "" {
		return startPgsim(b).endpoint()
	}
	cert, err := os.ReadFile(os.Getenv("PGSIM_CA_CERT"))
	require.NoError(b, err)
	key, err := os.ReadFile(os.Getenv("PGSIM_CA_KEY"))
	require.NoError(b, err)
	ca := pki.Pair{Cert: cert, Key: key}
	client, err := pki.Issue(ca, pki.Request{CommonName: "postgres", Lifetime: time.Hour, Client: true}, time.Now())
	require.NoError(b, err)
	host, port, err := net.SplitHostPort(addr)
	require.NoError(b, err)
	var ep postgres.Endpoint
	ep.Host, ep.User, ep.Password = host, "postgres", "not checked"
	_, err = fmt.Sscan(port, &ep.Port)
	require.NoError(b, err)
	ep.TLS = &postgres.TLS{ServerName: "demo-rw.ns1.svc", RootCAs: ca.Cert, Cert: client.Cert, Key: client.Key}
	return ep
}

// TestTransactionBlocks: what lib/pq's BeginTx, Commit and Rollback meet,
// as PostgreSQL answers it.
func TestTransactionBlocks(t *testing.T) {
	f := startPgsim(t)
	db := sql.OpenDB(mustConnector(t, f.endpointDSN()))
	defer db.Close()
	ctx := context.Background()

	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	_, err = tx.Exec(`CREATE ROLE "ro" LOGIN`)
	assert.Equal(t, "25006", postgres.SQLState(err), "a read-only block refuses writes")
	_, err = tx.Exec(`SELECT pg_reload_conf()`)
	assert.Equal(t, "25P02", postgres.SQLState(err), "the failed block refuses everything")
	require.NoError(t, tx.Rollback())

	tx, err = db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.Exec(`CREATE ROLE "later" LOGIN`)
	require.NoError(t, err)
	_, err = tx.Exec(`CREATE DATABASE "later" OWNER "later"`)
	assert.Equal(t, "25001", postgres.SQLState(err), "CREATE DATABASE cannot run in a block")
	assert.Error(t, tx.Commit(), "a failed block rolls back")

	var exists bool
	require.NoError(t, db.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, "later").Scan(&exists))
	assert.False(t, exists)
}
