//go:build integration

package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// TestFloors measures the slow steps of running PostgreSQL on this machine,
// so that timeouts and test budgets elsewhere rest on numbers. It is not
// parallel: the parallel tests wait until it is done, so it measures an idle
// machine. (initdb runs with -N and the servers with fsync=off.)
func TestFloors(t *testing.T) {
	c, ctx := postgres.New(), context.Background()
	primary := pgtest.NewPrimary(t, "p")
	standby := primary.NewStandby(t, "s")

	start := time.Now()
	const probes = 20
	for range probes {
		_, err := c.Probe(ctx, standby.Endpoint())
		require.NoError(t, err)
	}
	probe := time.Since(start) / probes

	start = time.Now()
	require.NoError(t, c.Checkpoint(ctx, primary.Endpoint()))
	checkpoint := time.Since(start)

	start = time.Now()
	primary.Stop(t)
	stop := time.Since(start)

	start = time.Now()
	require.NoError(t, c.Promote(ctx, standby.Endpoint(), 30*time.Second))
	promote := time.Since(start)
	if promote > time.Second {
		// Seen on PostgreSQL 15 in about 1 of 5 runs when the primary stops just
		// before: the startup process notices the promote request only after
		// sleeping wal_retrieve_retry_interval (5s by default).
		t.Logf("slow promote (wal_retrieve_retry_interval?); standby log:\n%s", standby.LogTail(12))
	}

	t.Logf("floors on this machine:\n"+
		"  initdb                      %v\n"+
		"  primary start (to ready)    %v\n"+
		"  pg_basebackup (-c fast)     %v\n"+
		"  standby start (to ready)    %v\n"+
		"  Probe incl. connect+auth    %v (mean of %d)\n"+
		"  CHECKPOINT                  %v\n"+
		"  fast shutdown               %v\n"+
		"  Promote (pg_promote, wait)  %v",
		primary.Timings.InitDB, primary.Timings.Start, standby.Timings.BaseBackup,
		standby.Timings.Start, probe, probes, checkpoint, stop, promote)
}

// BenchmarkProbe is the cost of one Probe: a fresh connection (TCP, SCRAM
// authentication, backend fork), one query, disconnect. Run with
// go test -tags integration -run '^$' -bench Probe ./pkg/postgres/
func BenchmarkProbe(b *testing.B) {
	primary := pgtest.NewPrimary(b, "p")
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()
	for b.Loop() {
		if _, err := c.Probe(ctx, ep); err != nil {
			b.Fatal(err)
		}
	}
}
