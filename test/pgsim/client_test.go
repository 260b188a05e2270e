package pgsim

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// TestEveryClientMethod calls every method of the operator's real client
// against pgsim over TLS, as pkg/cluster does, and checks each answers as
// a healthy size-1 primary would. When pkg/postgres changes its SQL, this
// is the test that fails.
func TestEveryClientMethod(t *testing.T) {
	f := startPgsim(t)
	pg, ep, ctx := postgres.New(), f.endpoint(), context.Background()

	t.Run("Probe", func(t *testing.T) { checkProbe(t, pg, ep) })
	t.Run("Replication", func(t *testing.T) {
		reps, err := pg.Replication(ctx, ep)
		require.NoError(t, err)
		assert.Empty(t, reps)
	})
	t.Run("Slots", func(t *testing.T) { checkSlots(t, pg, ep) })
	t.Run("Parameters", func(t *testing.T) { checkParameters(t, pg, ep) })
	t.Run("Promote", func(t *testing.T) { require.NoError(t, pg.Promote(ctx, ep, 0)) })
	t.Run("Checkpoint", func(t *testing.T) { require.NoError(t, pg.Checkpoint(ctx, ep)) })
	t.Run("Roles", func(t *testing.T) { checkRoles(t, pg, ep) })
	t.Run("Archiver", func(t *testing.T) {
		a, err := pg.Archiver(ctx, ep, "/var/lib/postgresql/data/pgbr")
		require.NoError(t, err)
		assert.False(t, a.Failing())
	})
	t.Run("Stats", func(t *testing.T) { checkStats(t, pg, ep) })
	t.Run("CustomQueries", func(t *testing.T) { checkCustomQueries(t, pg, ep) })
	t.Run("Managed", func(t *testing.T) { checkManaged(t, pg, ep) })
	t.Run("RunScript", func(t *testing.T) {
		require.NoError(t, pg.EnsureDatabase(ctx, ep, "app", "postgres"))
		script := "CREATE TABLE t (id int PRIMARY KEY, note text DEFAULT 'a;b');\n" +
			"INSERT INTO t VALUES (1, $$x;y$$);\n-- a comment; with a semicolon\nCREATE EXTENSION IF NOT EXISTS pgcrypto;"
		require.NoError(t, pg.RunScript(ctx, ep, "app", script))
	})
	requireNoDrift(t, f.srv)
}

func checkProbe(t *testing.T, pg postgres.Client, ep postgres.Endpoint) {
	ctx := context.Background()
	first, err := pg.Probe(ctx, ep)
	require.NoError(t, err)
	assert.False(t, first.InRecovery)
	assert.Equal(t, uint32(1), first.Timeline)
	assert.Equal(t, 150010, first.ServerVersion)
	assert.NotZero(t, first.SystemIdentifier)
	assert.Empty(t, first.PendingRestart)
	assert.True(t, first.HistoryKnown, "timeline 1 has no history file, and needs none")
	assert.NotZero(t, first.OldestWAL)
	assert.LessOrEqual(t, first.OldestWAL, first.CurrentLSN)
	assert.Equal(t, uint32(1), first.Checkpoint.Timeline)
	assert.False(t, first.Streaming())
	assert.Empty(t, first.PrimaryConninfo)

	second, err := pg.Probe(ctx, ep)
	require.NoError(t, err)
	assert.Greater(t, second.CurrentLSN, first.CurrentLSN, "the primary's WAL moves")
	assert.Equal(t, first.SystemIdentifier, second.SystemIdentifier)
	assert.Equal(t, second.CurrentLSN, second.Position())
}

func checkSlots(t *testing.T, pg postgres.Client, ep postgres.Endpoint) {
	ctx := context.Background()
	require.NoError(t, pg.EnsureSlot(ctx, ep, "demo_2"))
	require.NoError(t, pg.EnsureSlot(ctx, ep, "demo_2"), "an existing slot is fine")
	require.NoError(t, pg.EnsureSlot(ctx, ep, "demo_3"))
	slots, err := pg.Slots(ctx, ep)
	require.NoError(t, err)
	require.Len(t, slots, 2)
	assert.Equal(t, "demo_2", slots[0].Name)
	assert.Equal(t, "physical", slots[0].Type)
	assert.False(t, slots[0].Active)
	assert.Equal(t, "reserved", slots[0].WALStatus)
	assert.NotZero(t, slots[0].RestartLSN)

	st, err := pg.Probe(ctx, ep)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"demo_2": "reserved", "demo_3": "reserved"}, st.SlotWALStatus)

	require.NoError(t, pg.DropSlot(ctx, ep, "demo_3"))
	require.NoError(t, pg.DropSlot(ctx, ep, "demo_3"), "a missing slot is fine")
	slots, err = pg.Slots(ctx, ep)
	require.NoError(t, err)
	require.Len(t, slots, 1)
}

func checkParameters(t *testing.T, pg postgres.Client, ep postgres.Endpoint) {
	ctx := context.Background()
	set := map[string]string{"work_mem": "64MB", "log_line_prefix": `%m [%p] it's \ here`, "pg_stat_statements.max": "5000"}
	changed, err := pg.SetParameters(ctx, ep, set, nil)
	require.NoError(t, err)
	assert.True(t, changed)
	changed, err = pg.SetParameters(ctx, ep, set, nil)
	require.NoError(t, err)
	assert.False(t, changed, "nothing differs the second time")

	got, err := pg.AutoConf(ctx, ep)
	require.NoError(t, err)
	assert.Equal(t, set, got)

	changed, err = pg.SetParameters(ctx, ep, map[string]string{"work_mem": "64MB"}, []string{"log_line_prefix", "pg_stat_statements.max"})
	require.NoError(t, err)
	assert.True(t, changed)
	require.NoError(t, pg.SetSynchronousStandbyNames(ctx, ep, ""))
	got, err = pg.AutoConf(ctx, ep)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"work_mem": "64MB", "synchronous_standby_names": ""}, got)

	require.NoError(t, pg.Reload(ctx, ep))
	pending, err := pg.PendingRestart(ctx, ep)
	require.NoError(t, err)
	assert.Empty(t, pending)
}

func checkRoles(t *testing.T, pg postgres.Client, ep postgres.Endpoint) {
	ctx := context.Background()
	has, err := pg.RoleHasPassword(ctx, ep, "replicator", "secret")
	require.NoError(t, err)
	assert.False(t, has, "no such role yet")

	require.NoError(t, pg.EnsureRole(ctx, ep, "replicator", true, true))
	require.NoError(t, pg.EnsureRole(ctx, ep, "replicator", true, true))
	has, err = pg.RoleHasPassword(ctx, ep, "replicator", "secret")
	require.NoError(t, err)
	assert.False(t, has, "no password yet")

	require.NoError(t, pg.SetPassword(ctx, ep, "replicator", "secret"))
	has, err = pg.RoleHasPassword(ctx, ep, "replicator", "secret")
	require.NoError(t, err)
	assert.True(t, has)
	has, err = pg.RoleHasPassword(ctx, ep, "replicator", "another")
	require.NoError(t, err)
	assert.False(t, has)

	require.NoError(t, pg.EnsureRole(ctx, ep, "replicator", false, true), "flags are corrected")
	cat, err := pg.ReadCatalog(ctx, ep, []string{"replicator"}, nil)
	require.NoError(t, err)
	assert.False(t, cat.Roles["replicator"].Login)
	assert.True(t, cat.Roles["replicator"].Replication)
}

func checkStats(t *testing.T, pg postgres.Client, ep postgres.Endpoint) {
	st, err := pg.Stats(context.Background(), ep, 0)
	require.NoError(t, err)
	assert.False(t, st.InRecovery)
	assert.Equal(t, 150010, st.ServerVersion)
	assert.Equal(t, int64(100), st.MaxConnections)
	assert.Positive(t, st.DatabaseSize)
	assert.Positive(t, st.WALBytes)
	assert.False(t, st.ReplayLagKnown)
	assert.Contains(t, st.SlotRetainedWAL, "demo_2")
	assert.NotNil(t, st.Connections)
}

func checkCustomQueries(t *testing.T, pg postgres.Client, ep postgres.Endpoint) {
	qs := []postgres.CustomQuery{
		{Name: "up", SQL: "SELECT 1 AS up, 'primary' AS role;", Labels: []string{"role"}, Values: []postgres.CustomValue{{Column: "up"}}},
		{Name: "ratio", SQL: "SELECT 0.25 AS ratio, true AS ok", Values: []postgres.CustomValue{{Column: "ratio"}, {Column: "ok"}}},
	}
	res := pg.CustomQueries(context.Background(), ep, qs)
	require.Len(t, res, 2)
	require.NoError(t, res[0].Err)
	assert.Equal(t, []postgres.CustomRow{{Labels: []string{"primary"}, Values: []float64{1}}}, res[0].Rows)
	require.NoError(t, res[1].Err)
	assert.Equal(t, []postgres.CustomRow{{Labels: []string{}, Values: []float64{0.25, 1}}}, res[1].Rows)
}

func checkManaged(t *testing.T, pg postgres.Client, ep postgres.Endpoint) {
	ctx := context.Background()
	require.NoError(t, pg.EnsureManagedRole(ctx, ep, postgres.ManagedRole{Name: "readers", ConnectionLimit: -1}, ""))
	app := postgres.ManagedRole{Name: "app", Login: true, CreateDB: true, ConnectionLimit: 20, InRoles: []string{"readers"}}
	require.NoError(t, pg.EnsureManagedRole(ctx, ep, app, "app-secret"))
	require.NoError(t, pg.EnsureDatabase(ctx, ep, "appdb", "postgres"))
	require.NoError(t, pg.EnsureDatabase(ctx, ep, "appdb", "app"), "the owner is corrected")
	require.NoError(t, pg.EnsureExtensions(ctx, ep, "appdb", []string{"pg_stat_statements", "citext"}))

	cat, err := pg.ReadCatalog(ctx, ep, []string{"app", "readers", "ghost"}, []string{"appdb", "nodb"})
	require.NoError(t, err)
	require.Contains(t, cat.Roles, "app")
	assert.True(t, cat.Roles["app"].Matches(app))
	assert.True(t, postgres.PasswordMatches(cat.Roles["app"].Verifier, "app-secret"))
	assert.NotContains(t, cat.Roles, "ghost")
	assert.Equal(t, map[string]postgres.DatabaseInfo{"appdb": {Name: "appdb", Owner: "app"}}, cat.Databases)

	app.InRoles = nil
	require.NoError(t, pg.EnsureManagedRole(ctx, ep, app, ""), "the membership is revoked")
	cat, err = pg.ReadCatalog(ctx, ep, []string{"app"}, nil)
	require.NoError(t, err)
	assert.Empty(t, cat.Roles["app"].InRoles)

	err = pg.DropManagedRole(ctx, ep, "app")
	require.ErrorContains(t, err, "owns 1 objects", "it owns appdb")
	require.NoError(t, pg.DropDatabase(ctx, ep, "appdb", false))
	require.NoError(t, pg.DropManagedRole(ctx, ep, "app"))
	require.NoError(t, pg.DropManagedRole(ctx, ep, "app"), "a missing role is fine")
	require.NoError(t, pg.DropDatabase(ctx, ep, "appdb", true), "a missing database is fine")

	cat, err = pg.ReadCatalog(ctx, ep, []string{"app", "readers"}, []string{"appdb"})
	require.NoError(t, err)
	assert.NotContains(t, cat.Roles, "app")
	assert.Contains(t, cat.Roles, "readers")
	assert.Empty(t, cat.Databases)
	require.Error(t, pg.EnsureExtensions(ctx, ep, "appdb", []string{"citext"}), "the database is gone")
}
