package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/lib/pq"
)

const (
	undefinedObject   = "42704"
	duplicateDatabase = "42P04"
)

// EnsureDatabase creates the database with its owner, or gives an
// existing one that owner. Only the database's own ownership changes:
// objects inside it keep theirs.
func (c *client) EnsureDatabase(ctx context.Context, ep Endpoint, name, owner string) error {
	for _, n := range []string{name, owner} {
		if err := validateRoleName(n); err != nil { // the same rule holds for database names
			return invalidArgument("ensure database", ep, err)
		}
	}
	return c.withOwnConn(ctx, ep, "ensure database", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		if err := localCommit(ctx, conn); err != nil {
			return err
		}
		var have string
		err := conn.QueryRowContext(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, name).Scan(&have)
		switch {
		case err == sql.ErrNoRows:
			_, err = conn.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)+" OWNER "+pq.QuoteIdentifier(owner))
			if SQLState(err) != duplicateDatabase {
				return err
			} // created concurrently: make sure of the owner
		case err != nil:
			return err
		case have == owner:
			return nil
		}
		_, err = conn.ExecContext(ctx, "ALTER DATABASE "+pq.QuoteIdentifier(name)+" OWNER TO "+pq.QuoteIdentifier(owner))
		return err
	})
}

// EnsureExtensions creates the extensions missing in the database (it
// connects to that database: extensions are per database). Each is tried;
// the error names every one that failed.
func (c *client) EnsureExtensions(ctx context.Context, ep Endpoint, database string, extensions []string) error {
	if err := validateRoleName(database); err != nil {
		return invalidArgument("create extensions", ep, err)
	}
	ep.Database = database
	return c.withOwnConn(ctx, ep, "create extensions", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		var errs []error
		for _, ext := range extensions {
			if _, err := conn.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS "+pq.QuoteIdentifier(ext)); err != nil {
				errs = append(errs, fmt.Errorf("extension %s: %w", ext, err))
			}
		}
		return errors.Join(errs...)
	})
}

// userTables lists the tables that hold a user's data: not the catalogs,
// not TOAST, not the tables an extension made (PostGIS's spatial_ref_sys).
const userTables = `
WITH t AS (
  SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
SELECT (SELECT count(*) FROM t),
       coalesce((SELECT string_agg(name, ', ') FROM (SELECT name FROM t ORDER BY name LIMIT 3) s), '')`

// DropDatabase drops the database if it exists. Without withData it
// first checks, connected to it, that it holds no table, and refuses
// otherwise; a session still connected makes PostgreSQL refuse. withData
// drops it whatever it holds, ending its sessions (WITH (FORCE)).
func (c *client) DropDatabase(ctx context.Context, ep Endpoint, name string, withData bool) error {
	if err := validateRoleName(name); err != nil {
		return invalidArgument("drop database", ep, err)
	}
	var exists bool
	err := c.withOwnConn(ctx, ep, "drop database", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		return conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	})
	if err != nil || !exists {
		return err
	}
	if !withData {
		if err := c.refuseIfTables(ctx, ep, name); err != nil {
			return err
		}
	}
	stmt := "DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name)
	if withData {
		stmt += " WITH (FORCE)"
	}
	return c.withOwnConn(ctx, ep, "drop database", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		if err := localCommit(ctx, conn); err != nil {
			return err
		}
		_, err := conn.ExecContext(ctx, stmt)
		return err
	})
}

func (c *client) refuseIfTables(ctx context.Context, ep Endpoint, name string) error {
	in := ep
	in.Database = name
	var n int
	var some string
	err := c.withOwnConn(ctx, in, "drop database", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		return conn.QueryRowContext(ctx, userTables).Scan(&n, &some)
	})
	if err != nil || n == 0 {
		return err
	}
	if n > 3 {
		some += ", ..."
	}
	return invalidArgument("drop database", ep, fmt.Errorf(
		"database %q has %d tables (%s): it is kept; set reclaim: delete to drop it with its data", name, n, strings.TrimSpace(some)))
}
