//go:build integration

package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// TestRoleHasPassword checks verifiers the server made itself (initdb's,
// CREATE ROLE's) as well as ours, on a primary and on its standby.
func TestRoleHasPassword(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()
	has := func(ep postgres.Endpoint, role, password string) bool {
		t.Helper()
		ok, err := c.RoleHasPassword(ctx, ep, role, password)
		require.NoError(t, err)
		return ok
	}
	_, err := c.SetParameters(ctx, ep, map[string]string{"log_statement": "all"}, nil)
	require.NoError(t, err)
	waitSetting(t, primary, "log_statement", "all")

	assert.True(t, has(ep, "postgres", primary.Password), "initdb's verifier")
	assert.False(t, has(ep, "postgres", primary.Password+"x"))
	assert.True(t, has(standby.Endpoint(), "postgres", primary.Password), "readable on a standby")

	require.NoError(t, c.SetPassword(ctx, ep, pgtest.ReplicationUser, "rotated: pass\\word"))
	assert.True(t, has(ep, pgtest.ReplicationUser, "rotated: pass\\word"), "our verifier")
	pgtest.Eventually(t, 10*time.Second, "the standby replays the new verifier", func() (bool, error) {
		return c.RoleHasPassword(ctx, standby.Endpoint(), pgtest.ReplicationUser, "rotated: pass\\word")
	})

	primary.Exec(t, `CREATE ROLE nopw LOGIN`)
	assert.False(t, has(ep, "nopw", ""), "no password")
	assert.False(t, has(ep, "nosuchrole", "x"), "no role")
	primary.Exec(t, `SET password_encryption = 'md5'; CREATE ROLE md5role LOGIN PASSWORD 'x'`)
	assert.False(t, has(ep, "md5role", "x"), "md5 is not what the operator sets")

	log, err := os.ReadFile(primary.LogFile)
	require.NoError(t, err)
	assert.NotContains(t, string(log), "rotated: pass", "the plaintext is never sent")
	assert.NotContains(t, string(log), primary.Password)
}

// TestRotatedPasswords shows what a rotation does to live connections: a
// refused login is an auth failure (not unreachable: never a failover), and
// a standby's WAL receiver stays connected when the replication role's
// password changes under it. Only new connections need the new password.
func TestRotatedPasswords(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)
	c, ctx := postgres.New(), context.Background()
	receiverPID := func() string {
		return standby.Query(t, `SELECT pid::text FROM pg_stat_wal_receiver WHERE status = 'streaming'`)
	}
	before := receiverPID()
	require.NotEmpty(t, before)

	require.NoError(t, c.SetPassword(ctx, primary.Endpoint(), pgtest.ReplicationUser, "new-replication"))
	require.NoError(t, c.SetPassword(ctx, primary.Endpoint(), "postgres", "new-superuser"))

	// A new connection: the one the calls above left open stays logged in
	// (pool.go), which is the point of keeping it.
	fresh := postgres.NewWithTimeouts(postgres.Timeouts{Reuse: -1})
	_, err := fresh.Probe(ctx, primary.Endpoint())
	require.Error(t, err, "the old superuser password is refused")
	assert.True(t, postgres.IsAuthFailed(err), "%v", err)
	assert.False(t, postgres.IsUnreachable(err), "a refused password is no reason to fail over")
	assert.NotContains(t, err.Error(), primary.Password)

	ep := primary.Endpoint()
	ep.Password = "new-superuser"
	_, err = c.Probe(ctx, ep)
	require.NoError(t, err)
	require.NoError(t, primary.Connect(pgtest.ReplicationUser, "new-replication"))
	// Put the superuser's password back for pgtest's own connections.
	require.NoError(t, c.SetPassword(ctx, ep, "postgres", primary.Password))

	primary.Exec(t, `SELECT pg_switch_wal()`)
	time.Sleep(500 * time.Millisecond)
	assert.Equal(t, before, receiverPID(), "the WAL receiver kept its connection")
}
