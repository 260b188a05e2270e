//go:build integration

package cluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// TestReadinessRefusesADivergedReplica runs the members' readiness probe,
// as the kubelet runs it, against real servers: the replica an async
// failover leaves behind is never Ready, though its receiver reads
// "streaming" in many looks (the operator's caughtUp says no in every
// one), while the new primary and a replica cloned from it are.
func TestReadinessRefusesADivergedReplica(t *testing.T) {
	d := newMembersDivergence(t)
	fresh := d.Primary.NewStandby(t, "c")
	ok, out := runReadiness(t, d.Primary)
	require.True(t, ok, "the new primary: %s", out)
	ok, out = runReadiness(t, fresh)
	require.True(t, ok, "a replica streaming from it: %s", out)

	db := postgres.New()
	streamingLooks, runs := 0, 0
	pgtest.Eventually(t, time.Minute, "100 probe runs on the diverged replica and 3 looks that read streaming", func() (bool, error) {
		ok, out := runReadiness(t, d.Replica)
		require.False(t, ok, "the diverged replica passed the readiness probe: %s", out)
		require.Contains(t, out, "standby is not streaming from the primary")
		runs++
		st, err := db.Probe(context.Background(), d.Replica.Endpoint())
		require.NoError(t, err)
		require.False(t, (&member{db: &st}).caughtUp(), "the operator's rule agrees with the probe: %+v", st)
		if st.Streaming() {
			streamingLooks++
		}
		if runs < 100 || streamingLooks < 3 {
			return false, fmt.Errorf("%d runs, %d looks read streaming", runs, streamingLooks)
		}
		return true, nil
	})
	t.Logf("%d probe runs failed; %d looks between them read streaming", runs, streamingLooks)
}

// runReadiness runs the readiness probe's command against s's socket.
func runReadiness(t *testing.T, s *pgtest.Server) (bool, string) {
	cmd := kubeletExpand(readinessProbe().Exec.Command)
	i := slices.Index(cmd, runDir)
	require.GreaterOrEqual(t, i, 0, "the probe connects to %s: %v", runDir, cmd)
	cmd[i] = s.SocketDir()
	return runOn(t, s, cmd)
}
