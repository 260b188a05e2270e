package pgsim

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/pki"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// fakeCAs is a CASource over a map keyed "namespace/cluster".
type fakeCAs struct {
	mu  sync.Mutex
	cas map[string]pki.Pair
}

func (f *fakeCAs) CA(_ context.Context, namespace, cluster string) (pki.Pair, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ca, ok := f.cas[namespace+"/"+cluster]
	if !ok {
		return pki.Pair{}, fmt.Errorf("no CA for %s/%s", namespace, cluster)
	}
	return ca, nil
}

// fixture is a running pgsim and a cluster whose CA it knows.
type fixture struct {
	srv  *Server
	port int
	ca   pki.Pair
	tls  *postgres.TLS // as pkg/cluster builds it for the cluster
}

const (
	testNamespace = "ns1"
	testCluster   = "demo"
)

// startPgsim serves on 127.0.0.1 (a random port) with a fake CASource
// holding one cluster's CA, and builds the operator's TLS for it: the
// server name pkg/cluster uses (memberServerName), the CA as root, and the
// superuser's client certificate.
func startPgsim(t testing.TB) *fixture {
	t.Helper()
	now := time.Now()
	ca, err := pki.NewCA(testNamespace+"/"+testCluster+" CA", 24*time.Hour, now)
	require.NoError(t, err)
	client, err := pki.Issue(ca, pki.Request{CommonName: "postgres", Lifetime: time.Hour, Client: true}, now)
	require.NoError(t, err)
	srv := New(Config{CA: &fakeCAs{cas: map[string]pki.Pair{testNamespace + "/" + testCluster: ca}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return &fixture{srv: srv, port: ln.Addr().(*net.TCPAddr).Port, ca: ca, tls: &postgres.TLS{
		ServerName: testCluster + "-rw." + testNamespace + ".svc", RootCAs: ca.Cert, Cert: client.Cert, Key: client.Key}}
}

// endpoint is how the operator reaches the member (pkg/cluster
// observe.go): the pod's IP, the superuser, TLS.
func (f *fixture) endpoint() postgres.Endpoint {
	return postgres.Endpoint{Host: "127.0.0.1", Port: f.port, User: "postgres", Password: "not checked",
		Database: "postgres", TLS: f.tls}
}

// requireNoDrift fails the test if any statement was unknown to pgsim.
func requireNoDrift(t testing.TB, srv *Server) {
	t.Helper()
	require.Empty(t, srv.Stats().Unknown, "statements pgsim does not know: update queries.go")
}
