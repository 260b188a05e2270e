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

// waitSetting waits until a new session on s shows the setting's value;
// pg_reload_conf only signals, the postmaster applies it a moment later.
func waitSetting(t *testing.T, s *pgtest.Server, name, want string) {
	t.Helper()
	pgtest.Eventually(t, 10*time.Second, name+" = "+want+" on "+s.Name, func() (bool, error) {
		v, err := s.QueryErr(`SELECT current_setting($1)`, name)
		return v == want, err
	})
}

func TestSetParametersReloadAndPendingRestart(t *testing.T) {
	t.Parallel()
	primary := pgtest.NewPrimary(t, "p")
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()

	changed, err := c.SetParameters(ctx, ep, map[string]string{"work_mem": "7MB"}, nil)
	require.NoError(t, err)
	assert.True(t, changed)
	waitSetting(t, primary, "work_mem", "7MB")
	changed, err = c.SetParameters(ctx, ep, map[string]string{"Work_Mem": "7MB"}, nil)
	require.NoError(t, err)
	assert.False(t, changed, "same value again changes nothing")

	// A value full of quoting hazards survives the trip through
	// postgresql.auto.conf, and reads back as equal.
	prefix := `%m [%p] it's a "test" \ `
	changed, err = c.SetParameters(ctx, ep, map[string]string{"log_line_prefix": prefix}, nil)
	require.NoError(t, err)
	assert.True(t, changed)
	waitSetting(t, primary, "log_line_prefix", prefix)
	changed, err = c.SetParameters(ctx, ep, map[string]string{"log_line_prefix": prefix}, nil)
	require.NoError(t, err)
	assert.False(t, changed)

	// A restart-only setting is written, and then shows up as pending.
	changed, err = c.SetParameters(ctx, ep, map[string]string{"max_connections": "120"}, nil)
	require.NoError(t, err)
	assert.True(t, changed)
	pgtest.Eventually(t, 10*time.Second, "max_connections pending restart", func() (bool, error) {
		pending, err := c.PendingRestart(ctx, ep)
		return assert.ObjectsAreEqual([]string{"max_connections"}, pending), err
	})
	assert.Equal(t, []string{"max_connections"}, probe(t, primary).PendingRestart)
	assert.Equal(t, "100", primary.Query(t, `SHOW max_connections`), "not applied without a restart")

	// Reset removes the entries, and pending restart goes away again.
	changed, err = c.SetParameters(ctx, ep, nil, []string{"max_connections", "work_mem", "log_line_prefix"})
	require.NoError(t, err)
	assert.True(t, changed)
	changed, err = c.SetParameters(ctx, ep, nil, []string{"max_connections", "work_mem"})
	require.NoError(t, err)
	assert.False(t, changed)
	waitSetting(t, primary, "work_mem", "4MB")
	pgtest.Eventually(t, 10*time.Second, "no restart pending", func() (bool, error) {
		pending, err := c.PendingRestart(ctx, ep)
		return len(pending) == 0, err
	})

	// A bad value is the server saying no, not an unreachable server, and
	// nothing is written.
	_, err = c.SetParameters(ctx, ep, map[string]string{"work_mem": "lots"}, nil)
	require.Error(t, err)
	assert.False(t, postgres.IsUnreachable(err))
	assert.Equal(t, "22023", postgres.SQLState(err), "%v", err)
	require.NoError(t, c.Reload(ctx, ep))
	assert.Equal(t, "4MB", primary.Query(t, `SHOW work_mem`))

	// ALTER SYSTEM is not transactional: what was valid is written and
	// loaded even though a later value is refused.
	changed, err = c.SetParameters(ctx, ep, map[string]string{"maintenance_work_mem": "100MB", "work_mem": "lots"}, nil)
	require.Error(t, err)
	assert.True(t, changed)
	waitSetting(t, primary, "maintenance_work_mem", "100MB")
}

func TestSetParametersOnHotStandby(t *testing.T) {
	t.Parallel()
	_, standby := pair(t)
	c, ctx, ep := postgres.New(), context.Background(), standby.Endpoint()

	changed, err := c.SetParameters(ctx, ep, map[string]string{"work_mem": "9MB", "hot_standby_feedback": "on"}, nil)
	require.NoError(t, err, "ALTER SYSTEM works during recovery")
	assert.True(t, changed)
	waitSetting(t, standby, "work_mem", "9MB")
	waitSetting(t, standby, "hot_standby_feedback", "on")
	assert.True(t, probe(t, standby).InRecovery)

	changed, err = c.SetParameters(ctx, ep, map[string]string{"max_wal_senders": "12"}, nil)
	require.NoError(t, err)
	assert.True(t, changed)
	pgtest.Eventually(t, 10*time.Second, "max_wal_senders pending restart on the standby", func() (bool, error) {
		pending, err := c.PendingRestart(ctx, ep)
		return assert.ObjectsAreEqual([]string{"max_wal_senders"}, pending), err
	})
}
