package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/cluster"
	"postgres-operator.dev/postgres-operator/pkg/metrics"
)

// /metrics is served on its own server until the context ends.
func TestMetricsServerStopsWithTheContext(t *testing.T) {
	m := metrics.New()
	m.SetLeader(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); serve(ctx, "metrics", ln, metricsMux(m)) }()

	url := "http://" + ln.Addr().String() + "/metrics"
	resp, err := http.Get(url)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "\npostgres_operator_leader 1\n")

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the metrics server did not stop")
	}
	_, err = http.Get(url)
	assert.Error(t, err, "nothing listens any more")
}

func TestClusterMetricsHandsTheSampleOver(t *testing.T) {
	m := metrics.New()
	var cm cluster.Metrics = clusterMetrics{m}
	cm.ObserveCluster("db", "a", cluster.Sample{Ready: true, Phase: "Running",
		Members: []cluster.MemberSample{
			{Name: "a-1", Up: true, Role: cluster.RolePrimary, Timeline: 3},
			{Name: "a-2", Up: true, Role: cluster.RoleReplica, Timeline: 3, LagBytes: 4096, LagKnown: true},
		},
		Archive: &cluster.ArchiveSample{ArchivedCount: 5, FailedCount: 1, Pending: 2}})
	cm.FailoverDone("db", "a", 2*time.Second)

	require.NoError(t, testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(`
# HELP postgres_operator_member_replication_lag_bytes Bytes of WAL a replica has yet to replay to reach the primary's position, as of the last probe.
# TYPE postgres_operator_member_replication_lag_bytes gauge
postgres_operator_member_replication_lag_bytes{cluster="a",member="a-2",namespace="db"} 4096
# HELP postgres_operator_archive_pending_wal WAL files waiting to be archived on the primary.
# TYPE postgres_operator_archive_pending_wal gauge
postgres_operator_archive_pending_wal{cluster="a",namespace="db"} 2
# HELP postgres_operator_failovers_total Failovers completed (a replica promoted and routed to) since this operator started, per cluster.
# TYPE postgres_operator_failovers_total counter
postgres_operator_failovers_total{cluster="a",namespace="db"} 1
`), "postgres_operator_member_replication_lag_bytes", "postgres_operator_archive_pending_wal", "postgres_operator_failovers_total"))

	cm.ForgetCluster("db", "a")
	n, err := testutil.GatherAndCount(m.Gatherer(), "postgres_operator_member_up", "postgres_operator_failovers_total")
	require.NoError(t, err)
	assert.Zero(t, n)
}
