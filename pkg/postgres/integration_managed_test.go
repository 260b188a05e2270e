//go:build integration

package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// queryIn returns the first column of the first row of query, run as the
// superuser in database db (pgtest only connects to postgres).
func queryIn(t *testing.T, s *pgtest.Server, db, query string, args ...any) string {
	t.Helper()
	cfg, err := pq.NewConfig("sslmode=disable connect_timeout=5")
	require.NoError(t, err)
	ep := s.Endpoint()
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = ep.Host, uint16(ep.Port), ep.User, ep.Password, db
	connector, err := pq.NewConnectorConfig(cfg)
	require.NoError(t, err)
	conn := sql.OpenDB(connector)
	defer conn.Close()
	var v sql.NullString
	require.NoError(t, conn.QueryRow(query, args...).Scan(&v), query)
	return v.String
}

func TestManagedRoles(t *testing.T) {
	t.Parallel()
	primary := pgtest.NewPrimary(t, "p")
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()

	const group, role = "readers", `we"ird role` // the second needs quoting
	want := postgres.ManagedRole{Name: role, Login: true, ConnectionLimit: 5, InRoles: []string{"pg_read_all_data", group}}
	require.NoError(t, c.EnsureManagedRole(ctx, ep, postgres.ManagedRole{Name: group, ConnectionLimit: -1}, ""))
	require.NoError(t, c.EnsureManagedRole(ctx, ep, want, ""))
	require.NoError(t, c.EnsureManagedRole(ctx, ep, want, ""), "idempotent")

	cat, err := c.ReadCatalog(ctx, ep, []string{role, group, "missing"}, []string{"postgres", "missing"})
	require.NoError(t, err)
	require.Contains(t, cat.Roles, role)
	assert.NotContains(t, cat.Roles, "missing")
	assert.True(t, cat.Roles[role].Matches(want), "%+v", cat.Roles[role])
	assert.Equal(t, []string{"pg_read_all_data", group}, cat.Roles[role].InRoles)
	assert.False(t, cat.Roles[group].Login)
	assert.Equal(t, "postgres", cat.Databases["postgres"].Owner)
	assert.NotContains(t, cat.Databases, "missing")
	assert.Empty(t, cat.Roles[role].Verifier, "no password yet")

	// The password: set as a verifier with the attributes, checked here
	// without a login, never in the server's log.
	_, err = c.SetParameters(ctx, ep, map[string]string{"log_statement": "all"}, nil)
	require.NoError(t, err)
	waitSetting(t, primary, "log_statement", "all")
	require.NoError(t, c.EnsureManagedRole(ctx, ep, want, "s3cret"))
	cat, err = c.ReadCatalog(ctx, ep, []string{role}, nil)
	require.NoError(t, err)
	assert.True(t, postgres.PasswordMatches(cat.Roles[role].Verifier, "s3cret"))
	assert.False(t, postgres.PasswordMatches(cat.Roles[role].Verifier, "other"))
	require.NoError(t, primary.Connect(role, "s3cret"))

	// Drift made by hand is seen, and corrected; the password stays.
	primary.Exec(t, `ALTER ROLE "we""ird role" SUPERUSER NOLOGIN CONNECTION LIMIT 1`)
	primary.Exec(t, `GRANT pg_monitor TO "we""ird role"`)
	primary.Exec(t, `REVOKE readers FROM "we""ird role"`)
	cat, err = c.ReadCatalog(ctx, ep, []string{role}, nil)
	require.NoError(t, err)
	assert.False(t, cat.Roles[role].Matches(want))
	require.NoError(t, c.EnsureManagedRole(ctx, ep, want, ""))
	cat, err = c.ReadCatalog(ctx, ep, []string{role}, nil)
	require.NoError(t, err)
	assert.True(t, cat.Roles[role].Matches(want), "%+v", cat.Roles[role])
	require.NoError(t, primary.Connect(role, "s3cret"))

	// A membership of a role that does not exist fails, naming it.
	err = c.EnsureManagedRole(ctx, ep, postgres.ManagedRole{Name: role, Login: true, ConnectionLimit: -1, InRoles: []string{"nobody"}}, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nobody")
	assert.Equal(t, "5", primary.Query(t, `SELECT rolconnlimit FROM pg_roles WHERE rolname = $1`, role), "all or nothing")

	// A new role is created with its password in the same statement.
	require.NoError(t, c.EnsureManagedRole(ctx, ep, postgres.ManagedRole{Name: "fresh", Login: true, ConnectionLimit: -1}, "fr3sh"))
	require.NoError(t, primary.Connect("fresh", "fr3sh"))
	pgtest.Eventually(t, 10*time.Second, "CREATE ROLE in the server log", func() (bool, error) {
		log, err := os.ReadFile(primary.LogFile)
		return strings.Contains(string(log), `CREATE ROLE "fresh" LOGIN`), err
	})
	log, err := os.ReadFile(primary.LogFile)
	require.NoError(t, err)
	assert.Contains(t, string(log), "PASSWORD 'SCRAM-SHA-256$4096:")
	assert.NotContains(t, string(log), "s3cret")
	assert.NotContains(t, string(log), "fr3sh")
}

func TestDropManagedRole(t *testing.T) {
	t.Parallel()
	primary := pgtest.NewPrimary(t, "p")
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()
	ensure := func(name string) {
		require.NoError(t, c.EnsureManagedRole(ctx, ep, postgres.ManagedRole{Name: name, Login: true, ConnectionLimit: -1}, ""))
	}
	require.NoError(t, c.DropManagedRole(ctx, ep, "never-existed"), "absent already")

	// Privileges only, in another database and on a shared object: revoked, then dropped.
	ensure("granted")
	require.NoError(t, c.EnsureDatabase(ctx, ep, "other", "postgres"))
	require.NoError(t, c.RunScript(ctx, ep, "other", `CREATE TABLE t (x int); GRANT SELECT ON t TO granted`))
	primary.Exec(t, `GRANT CONNECT ON DATABASE other TO granted`)
	require.NoError(t, c.DropManagedRole(ctx, ep, "granted"))
	assert.Equal(t, "0", primary.Query(t, `SELECT count(*) FROM pg_roles WHERE rolname = 'granted'`))

	// Owning objects: kept, and the error says where.
	ensure("owner")
	require.NoError(t, c.RunScript(ctx, ep, "other", `CREATE TABLE owned (x int); ALTER TABLE owned OWNER TO owner`))
	err := c.DropManagedRole(ctx, ep, "owner")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "database other")
	assert.Contains(t, err.Error(), "REASSIGN OWNED")
	assert.False(t, postgres.IsUnreachable(err))
	assert.Equal(t, "1", primary.Query(t, `SELECT count(*) FROM pg_roles WHERE rolname = 'owner'`))

	// Owning a database counts too.
	ensure("dbowner")
	require.NoError(t, c.EnsureDatabase(ctx, ep, "mine", "dbowner"))
	err = c.DropManagedRole(ctx, ep, "dbowner")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the databases it owns")
}

func TestManagedDatabases(t *testing.T) {
	t.Parallel()
	primary := pgtest.NewPrimary(t, "p")
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()
	for _, r := range []string{"alice", "bob"} {
		require.NoError(t, c.EnsureManagedRole(ctx, ep, postgres.ManagedRole{Name: r, Login: true, ConnectionLimit: -1}, ""))
	}

	require.NoError(t, c.EnsureDatabase(ctx, ep, "shop-db", "alice"))
	require.NoError(t, c.EnsureDatabase(ctx, ep, "shop-db", "alice"), "idempotent")
	cat, err := c.ReadCatalog(ctx, ep, nil, []string{"shop-db"})
	require.NoError(t, err)
	assert.Equal(t, postgres.DatabaseInfo{Name: "shop-db", Owner: "alice"}, cat.Databases["shop-db"])
	require.NoError(t, c.EnsureDatabase(ctx, ep, "shop-db", "bob"))
	assert.Equal(t, "bob", primary.Query(t, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop-db'`))
	err = c.EnsureDatabase(ctx, ep, "other", "nobody")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nobody")

	// Extensions, in that database: each is tried, the failures named.
	require.NoError(t, c.EnsureExtensions(ctx, ep, "shop-db", []string{"pg_trgm", "uuid-ossp"}))
	require.NoError(t, c.EnsureExtensions(ctx, ep, "shop-db", []string{"pg_trgm", "uuid-ossp"}), "idempotent")
	err = c.EnsureExtensions(ctx, ep, "shop-db", []string{"no_such_ext", "hstore"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no_such_ext")
	assert.Equal(t, "hstore,pg_trgm,plpgsql,uuid-ossp",
		queryIn(t, primary, "shop-db", `SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension`))
	assert.Equal(t, "0", primary.Query(t, `SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'`), "not in postgres")

	// Dropping: never a database with tables unless asked.
	require.NoError(t, c.RunScript(ctx, ep, "shop-db", `CREATE TABLE orders (id int); CREATE SCHEMA s; CREATE TABLE s."Items" (x int)`))
	err = c.DropDatabase(ctx, ep, "shop-db", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `2 tables (public.orders, s."Items")`)
	assert.Contains(t, err.Error(), "reclaim: delete")
	assert.Equal(t, "1", primary.Query(t, `SELECT count(*) FROM pg_database WHERE datname = 'shop-db'`))

	// With data, even while a session is connected to it.
	session := openIn(t, primary, "shop-db")
	require.NoError(t, session.Ping())
	require.NoError(t, c.DropDatabase(ctx, ep, "shop-db", true))
	assert.Equal(t, "0", primary.Query(t, `SELECT count(*) FROM pg_database WHERE datname = 'shop-db'`))
	require.NoError(t, c.DropDatabase(ctx, ep, "shop-db", true), "absent already")

	// An empty database goes without reclaim: delete.
	require.NoError(t, c.EnsureDatabase(ctx, ep, "empty", "alice"))
	require.NoError(t, c.EnsureExtensions(ctx, ep, "empty", []string{"pg_trgm"}))
	require.NoError(t, c.DropDatabase(ctx, ep, "empty", false))
	assert.Equal(t, "0", primary.Query(t, `SELECT count(*) FROM pg_database WHERE datname = 'empty'`))
}

func openIn(t *testing.T, s *pgtest.Server, db string) *sql.DB {
	t.Helper()
	cfg, err := pq.NewConfig("sslmode=disable connect_timeout=5")
	require.NoError(t, err)
	ep := s.Endpoint()
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = ep.Host, uint16(ep.Port), ep.User, ep.Password, db
	connector, err := pq.NewConnectorConfig(cfg)
	require.NoError(t, err)
	conn := sql.OpenDB(connector)
	conn.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestRunScript(t *testing.T) {
	t.Parallel()
	primary := pgtest.NewPrimary(t, "p")
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()
	require.NoError(t, c.EnsureDatabase(ctx, ep, "app", "postgres"))

	// Log every statement: a script's error must not need the log.
	_, err := c.SetParameters(ctx, ep, map[string]string{"log_statement": "all"}, nil)
	require.NoError(t, err)
	waitSetting(t, primary, "log_statement", "all")

	require.NoError(t, c.RunScript(ctx, ep, "app", "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1), (2);\n"))
	assert.Equal(t, "2", queryIn(t, primary, "app", `SELECT count(*) FROM a`))

	// All or nothing: the first statement of a failing script is undone,
	// and the error says on which line the server stopped.
	err = c.RunScript(ctx, ep, "app", "CREATE TABLE b (x int);\n\nSELEC 1;\n")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 3")
	assert.Contains(t, err.Error(), "syntax error")
	assert.False(t, postgres.IsUnreachable(err))
	assert.Equal(t, "0", queryIn(t, primary, "app", `SELECT count(*) FROM pg_class WHERE relname = 'b'`))

	err = c.RunScript(ctx, ep, "app", "CREATE DATABASE nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "transaction block")

	err = c.RunScript(ctx, ep, "missing", "SELECT 1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing")

	pgtest.Eventually(t, 10*time.Second, "the script in the server log", func() (bool, error) {
		log, err := os.ReadFile(primary.LogFile)
		return strings.Contains(string(log), "INSERT INTO a"), err
	})
}
