//go:build integration

package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// operatorBackends lists the server's connections from the client.
func operatorBackends(t *testing.T, s *pgtest.Server) string {
	t.Helper()
	return s.Query(t, `SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE application_name = 'postgres-operator'`)
}

// noOperatorBackends waits until the client's closed connections are gone
// (a backend exits after its client has hung up).
func noOperatorBackends(t *testing.T, s *pgtest.Server, why string) {
	t.Helper()
	operatorBackendsLeft(t, s, 0, why)
}

// operatorBackendsLeft waits until the server has n of the client's
// backends.
func operatorBackendsLeft(t *testing.T, s *pgtest.Server, n int, why string) {
	t.Helper()
	pgtest.Eventually(t, 5*time.Second, why, func() (bool, error) {
		b := operatorBackends(t, s)
		return (b == "" && n == 0) || (b != "" && len(strings.Split(b, ",")) == n), nil
	})
}

func TestCallsReuseOneConnection(t *testing.T) {
	t.Parallel()
	s := pgtest.NewPrimary(t, "reuse")
	c, ctx, ep := postgres.New(), context.Background(), s.Endpoint()
	_, err := c.Probe(ctx, ep)
	require.NoError(t, err)
	kept := operatorBackends(t, s)
	require.NotEmpty(t, kept, "the first call's connection stays open")

	for range 10 {
		_, err := c.Probe(ctx, ep)
		require.NoError(t, err)
		_, err = c.Stats(ctx, ep, 150000) // the version the probe saw: one statement
		require.NoError(t, err)
	}
	assert.Equal(t, kept, operatorBackends(t, s), "twenty calls, and the same backend served them")

	other := ep
	other.Database = "template1"
	_, err = c.Probe(ctx, other)
	require.NoError(t, err)
	assert.Len(t, strings.Split(operatorBackends(t, s), ","), 2, "another endpoint gets a connection of its own")
}

func TestNoReuseOpensEveryTime(t *testing.T) {
	t.Parallel()
	s := pgtest.NewPrimary(t, "noreuse")
	c, ctx := postgres.NewWithTimeouts(postgres.Timeouts{Reuse: -1}), context.Background()
	_, err := c.Probe(ctx, s.Endpoint())
	require.NoError(t, err)
	noOperatorBackends(t, s, "nothing kept open")
}

// A kept connection whose server restarted or ended the session is never
// handed to a call: the call gets a new one and succeeds.
func TestKeptConnectionThatDiedIsReplaced(t *testing.T) {
	t.Parallel()
	s := pgtest.NewPrimary(t, "died")
	c, ctx, ep := postgres.New(), context.Background(), s.Endpoint()
	_, err := c.Probe(ctx, ep)
	require.NoError(t, err)

	s.Exec(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'postgres-operator'`)
	noOperatorBackends(t, s, "the session is gone")
	_, err = c.Probe(ctx, ep)
	require.NoError(t, err, "after pg_terminate_backend")

	s.Stop(t)
	s.Start(t)
	_, err = c.Probe(ctx, ep)
	require.NoError(t, err, "after a restart")
}

// Calls that set session state or run an administrator's SQL leave no
// connection behind for others to inherit.
func TestScriptsUseTheirOwnConnection(t *testing.T) {
	t.Parallel()
	s := pgtest.NewPrimary(t, "own")
	c, ctx := postgres.NewWithTimeouts(postgres.Timeouts{}), context.Background()
	require.NoError(t, c.RunScript(ctx, s.Endpoint(), "postgres", `SET work_mem = '77kB'`))
	noOperatorBackends(t, s, "the script's connection is closed")
}
