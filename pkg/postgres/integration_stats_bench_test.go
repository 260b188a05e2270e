//go:build integration

package postgres_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// BenchmarkStats is one read of a member's statistics, as the cluster
// actors make every --pg-stats-interval: on the connection the probes
// keep (reused), and on a new one for comparison. ns/op is wall time, the
// server's work included; cpu-ns/op is the operator's own CPU, which is
// what the metrics' cost budget is about (the server is another process).
func BenchmarkStats(b *testing.B) {
	s := pgtest.NewPrimary(b, "bench")
	ctx := context.Background()
	for _, conn := range []struct {
		name  string
		reuse time.Duration
	}{{"reused", time.Hour}, {"new", -1}} {
		b.Run("conn="+conn.name, func(b *testing.B) {
			c := postgres.NewWithTimeouts(postgres.Timeouts{Reuse: conn.reuse})
			st, err := c.Stats(ctx, s.Endpoint(), 0) // asks the version; opens the connection kept, if kept
			require.NoError(b, err)
			cpu := processCPU(b)
			for b.Loop() {
				if _, err := c.Stats(ctx, s.Endpoint(), st.ServerVersion); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU this process used so far, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
