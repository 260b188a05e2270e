package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"

	"github.com/lib/pq"
)

// autoConfQuery reads what ALTER SYSTEM has written so far. pg_file_settings
// parses the files on every call, so it shows them as they are on disk, not
// as last loaded.
const autoConfQuery = `
SELECT name, setting FROM pg_file_settings
WHERE sourcefile = current_setting('data_directory') || '/postgresql.auto.conf'`

// SetParameters only writes the entries that differ from postgresql.auto.conf
// and reloads only if it wrote something, so calling it every reconcile pass
// with the same desired state costs one query and no SIGHUP. changed reports
// whether anything was written, also when an error follows.
//
// Each setting is its own ALTER SYSTEM statement (ALTER SYSTEM refuses to
// run inside a transaction block, which a multi-statement query string
// would be), and one the server refuses does not stop the others: they are
// written and loaded, and the refused ones come back as a *RejectedError
// with the server's messages. A bad value in a spec must never keep the
// good ones, or anything after them, from being applied.
//
// ALTER SYSTEM is allowed on a hot standby (it writes a file, not WAL), so
// this works on every member.
func (c *client) SetParameters(ctx context.Context, ep Endpoint, set map[string]string, reset []string) (bool, error) {
	set, reset, err := normalizeParams(set, reset)
	if err != nil {
		return false, invalidArgument("set parameters", ep, err)
	}
	changed := false
	err = c.withConn(ctx, ep, "set parameters", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		current, err := readAutoConf(ctx, conn)
		if err != nil {
			return err
		}
		var rejected []Rejection
		for _, st := range alterSystemStatements(current, set, reset) {
			_, err = conn.ExecContext(ctx, st.sql)
			if pqErr, refused := settingRefused(err); refused {
				rejected, err = append(rejected, newRejection(st, pqErr)), nil
				continue
			}
			if err != nil {
				break
			}
			changed = true
		}
		// Reload whatever was written, even if a later statement failed:
		// ALTER SYSTEM is not transactional, and an unloaded change would
		// otherwise wait for an unrelated reload.
		if changed {
			if _, reloadErr := conn.ExecContext(ctx, `SELECT pg_reload_conf()`); err == nil {
				err = reloadErr
			}
		}
		if err == nil && len(rejected) > 0 {
			err = &RejectedError{Rejected: rejected}
		}
		return err
	})
	return changed, err
}

// AutoConf reads postgresql.auto.conf as the server parses it now.
func (c *client) AutoConf(ctx context.Context, ep Endpoint) (map[string]string, error) {
	var current map[string]string
	err := c.withConn(ctx, ep, "read parameters", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		var err error
		current, err = readAutoConf(ctx, conn)
		return err
	})
	return current, err
}

// normalizeParams validates and lower-cases the names and rejects a name that
// is both set and reset.
func normalizeParams(set map[string]string, reset []string) (map[string]string, []string, error) {
	outSet := make(map[string]string, len(set))
	for name, value := range set {
		n, err := normalizeParamName(name)
		if err != nil {
			return nil, nil, err
		}
		outSet[n] = value
	}
	outReset := make([]string, 0, len(reset))
	for _, name := range reset {
		n, err := normalizeParamName(name)
		if err != nil {
			return nil, nil, err
		}
		if _, ok := outSet[n]; ok {
			return nil, nil, fmt.Errorf("parameter %q is both set and reset", name)
		}
		outReset = append(outReset, n)
	}
	return outSet, outReset, nil
}

func readAutoConf(ctx context.Context, conn *sql.Conn) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, autoConfQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	current := map[string]string{}
	for rows.Next() {
		var name string
		var setting sql.NullString
		if err := rows.Scan(&name, &setting); err != nil {
			return nil, err
		}
		current[name] = setting.String
	}
	return current, rows.Err()
}

// alterStmt is one ALTER SYSTEM statement and the setting it changes.
type alterStmt struct {
	name, value string
	reset       bool
	sql         string
}

// alterSystemStatements returns the ALTER SYSTEM statements needed to go from
// current to the desired state, in a stable order. Names are validated
// identifiers; values are quoted literals.
func alterSystemStatements(current, set map[string]string, reset []string) []alterStmt {
	var stmts []alterStmt
	for _, name := range slices.Sorted(maps.Keys(set)) {
		if v, ok := current[name]; !ok || v != set[name] {
			stmts = append(stmts, alterStmt{name: name, value: set[name],
				sql: "ALTER SYSTEM SET " + name + " = " + pq.QuoteLiteral(set[name])})
		}
	}
	for _, name := range slices.Sorted(slices.Values(reset)) {
		if _, ok := current[name]; ok {
			stmts = append(stmts, alterStmt{name: name, reset: true, sql: "ALTER SYSTEM RESET " + name})
		}
	}
	return slices.Compact(stmts)
}

func (c *client) Reload(ctx context.Context, ep Endpoint) error {
	return c.withConn(ctx, ep, "reload", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, `SELECT pg_reload_conf()`)
		return err
	})
}

// PendingRestart reflects the configuration as last reloaded: after
// SetParameters the postmaster applies the reload asynchronously, so a
// restart-only setting can take a moment to show up here.
func (c *client) PendingRestart(ctx context.Context, ep Endpoint) ([]string, error) {
	var names []string
	err := c.withConn(ctx, ep, "pending restart", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		return conn.QueryRowContext(ctx,
			`SELECT ARRAY(SELECT name FROM pg_settings WHERE pending_restart ORDER BY name)`).Scan(pq.Array(&names))
	})
	return names, err
}

// SetSynchronousStandbyNames writes the value explicitly, even "", rather
// than resetting it, so a value in postgresql.conf cannot come back.
func (c *client) SetSynchronousStandbyNames(ctx context.Context, ep Endpoint, value string) error {
	_, err := c.SetParameters(ctx, ep, map[string]string{"synchronous_standby_names": value}, nil)
	return err
}
