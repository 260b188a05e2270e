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
	assert.Empty(t, probe(t, primary).PendingDecrease, "raised, not lowered")
	assert.Equal(t, "100", primary.Query(t, `SHOW max_connections`), "not applied without a restart")

	// Lowered, it is named as a decrease a standby would refuse.
	_, err = c.SetParameters(ctx, ep, map[string]string{"max_connections": "60"}, nil)
	require.NoError(t, err)
	pgtest.Eventually(t, 10*time.Second, "max_connections pending decrease", func() (bool, error) {
		return assert.ObjectsAreEqual([]string{"max_connections"}, probe(t, primary).PendingDecrease), nil
	})

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
	require.NotNil(t, postgres.AsRejected(err), "%v", err)
	require.NoError(t, c.Reload(ctx, ep))
	assert.Equal(t, "4MB", primary.Query(t, `SHOW work_mem`))

	// ALTER SYSTEM is not transactional: what was valid is written and
	// loaded even though another value is refused.
	changed, err = c.SetParameters(ctx, ep, map[string]string{"maintenance_work_mem": "100MB", "work_mem": "lots"}, nil)
	require.Error(t, err)
	assert.True(t, changed)
	waitSetting(t, primary, "maintenance_work_mem", "100MB")
}

// TestSetParametersSkipsRejected: every setting the server refuses is
// reported with its own message, and every other one, before or after it
// in name order, is written and loaded.
func TestSetParametersSkipsRejected(t *testing.T) {
	t.Parallel()
	primary := pgtest.NewPrimary(t, "p")
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()
	_, err := c.SetParameters(ctx, ep, map[string]string{"shared_buffers": "64MB"}, nil)
	require.NoError(t, err)

	set := map[string]string{
		"array_nulls":          "off",    // sorts first: applied
		"data_directory":       "/x",     // cannot be changed
		"maintenance_work_mem": "100MB",  // between refused ones: applied
		"nope_param":           "1",      // unknown
		"shared_buffers":       "banana", // bad value; the old value stays
		"statement_timeout":    "5s",     // applied
		"work_mem":             "a\nb\n", // not a valid memory value
	}
	changed, err := c.SetParameters(ctx, ep, set, nil)
	assert.True(t, changed)
	rej := postgres.AsRejected(err)
	require.NotNil(t, rej, "%v", err)
	assert.False(t, postgres.IsUnreachable(err))
	got := map[string]string{}
	for _, r := range rej.Rejected {
		got[r.Name] = r.SQLState
		assert.NotEmpty(t, r.Message)
		assert.Equal(t, set[r.Name], r.Value)
	}
	assert.Equal(t, map[string]string{"data_directory": "55P02", "nope_param": "42704", "shared_buffers": "22023", "work_mem": "22023"}, got)
	assert.Contains(t, err.Error(), `shared_buffers = 'banana': invalid value for parameter "shared_buffers": "banana"`)
	t.Logf("refused: %v", err)

	waitSetting(t, primary, "array_nulls", "off")
	waitSetting(t, primary, "maintenance_work_mem", "100MB")
	waitSetting(t, primary, "statement_timeout", "5s")
	conf, err := c.AutoConf(ctx, ep)
	require.NoError(t, err)
	assert.Equal(t, "64MB", conf["shared_buffers"], "the refused value never reaches the file")
	assert.NotContains(t, conf, "nope_param")

	// The same call again writes nothing and refuses the same settings.
	changed, err = c.SetParameters(ctx, ep, set, nil)
	assert.False(t, changed)
	require.NotNil(t, postgres.AsRejected(err), "%v", err)
	assert.Len(t, postgres.AsRejected(err).Rejected, 4)

	// A value with a line break is refused by ALTER SYSTEM itself.
	_, err = c.SetParameters(ctx, ep, map[string]string{"log_line_prefix": "a\nb = 'x'"}, nil)
	require.NotNil(t, postgres.AsRejected(err), "%v", err)

	// Without refused settings the call succeeds again.
	changed, err = c.SetParameters(ctx, ep, map[string]string{"shared_buffers": "32MB"}, []string{"nope_param", "array_nulls"})
	require.NoError(t, err)
	assert.True(t, changed)
	conf, err = c.AutoConf(ctx, ep)
	require.NoError(t, err)
	assert.Equal(t, "32MB", conf["shared_buffers"])
	assert.NotContains(t, conf, "array_nulls")
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
