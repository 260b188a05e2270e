//go:build integration

package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

func TestUnreachable(t *testing.T) {
	t.Parallel()
	c, ctx := postgres.New(), context.Background()

	t.Run("stopped server", func(t *testing.T) {
		s := pgtest.NewPrimary(t, "p")
		s.Stop(t)
		_, err := c.Probe(ctx, s.Endpoint())
		require.Error(t, err)
		assert.True(t, postgres.IsUnreachable(err), "%v", err)
		assert.NotContains(t, err.Error(), s.Password)
	})

	t.Run("closed port", func(t *testing.T) {
		ep := postgres.Endpoint{Host: "127.0.0.1", Port: pgtest.FreePort(t), Password: "x"}
		_, err := c.Probe(ctx, ep)
		require.Error(t, err)
		assert.True(t, postgres.IsUnreachable(err), "%v", err)
	})

	t.Run("server never answers", func(t *testing.T) {
		ep := postgres.Endpoint{Host: "127.0.0.1", Port: pgtest.SilentListener(t), Password: "x"}
		start := time.Now()
		_, err := c.Probe(ctx, ep)
		elapsed := time.Since(start)
		require.Error(t, err)
		assert.True(t, postgres.IsUnreachable(err), "%v", err)
		assert.Less(t, elapsed, postgres.DefaultTimeouts.Connect+2*time.Second, "bounded by the connect timeout, not by TCP")
		t.Logf("gave up after %v: %v", elapsed, err)
	})
}

func TestSQLErrorsAreNotUnreachable(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)
	c, ctx := postgres.New(), context.Background()

	// A standby refuses catalog writes: it answered, so it is reachable.
	err := c.EnsureRole(ctx, standby.Endpoint(), "app", true, false)
	require.Error(t, err)
	assert.False(t, postgres.IsUnreachable(err), "%v", err)
	assert.Equal(t, "25006", postgres.SQLState(err))

	// A wrong password is a configuration problem, not a dead server, and
	// the error does not repeat either password.
	ep := primary.Endpoint()
	ep.Password = "wrong 'password'"
	_, err = c.Probe(ctx, ep)
	require.Error(t, err)
	assert.False(t, postgres.IsUnreachable(err), "%v", err)
	assert.Equal(t, "28P01", postgres.SQLState(err))
	assert.NotContains(t, err.Error(), "wrong")
	assert.NotContains(t, err.Error(), primary.Password)

	// A statement stuck behind a lock is cancelled by statement_timeout:
	// the server is slow, not gone.
	tx, err := primary.DB(t).Begin()
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.Exec(`LOCK TABLE pg_authid IN SHARE MODE`) // blocks CREATE ROLE, not logins
	require.NoError(t, err)
	slow := postgres.NewWithTimeouts(postgres.Timeouts{Statement: time.Second})
	start := time.Now()
	err = slow.EnsureRole(ctx, primary.Endpoint(), "app", true, false)
	require.Error(t, err)
	assert.False(t, postgres.IsUnreachable(err), "%v", err)
	assert.Equal(t, "57014", postgres.SQLState(err), "%v", err)
	assert.Less(t, time.Since(start), 5*time.Second)
}
