package postgres

import (
	"context"
	"database/sql"

	"github.com/lib/pq"
)

// EnsureRole creates the role, or corrects its LOGIN and REPLICATION flags.
// Other attributes and an existing password are left alone. Roles are
// catalog writes, so this fails with an SQL error on a standby.
func (c *client) EnsureRole(ctx context.Context, ep Endpoint, role string, login, replication bool) error {
	if err := validateRoleName(role); err != nil {
		return invalidArgument("ensure role", ep, err)
	}
	attrs := flag(login, "LOGIN", "NOLOGIN") + " " + flag(replication, "REPLICATION", "NOREPLICATION")
	return c.withConn(ctx, ep, "ensure role", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		var canLogin, canReplicate bool
		err := conn.QueryRowContext(ctx,
			`SELECT rolcanlogin, rolreplication FROM pg_roles WHERE rolname = $1`, role).Scan(&canLogin, &canReplicate)
		switch {
		case err == sql.ErrNoRows:
			_, err = conn.ExecContext(ctx, "CREATE ROLE "+pq.QuoteIdentifier(role)+" "+attrs)
			if SQLState(err) != duplicateObject {
				return err
			} // created concurrently: fall through to fix the flags
		case err != nil:
			return err
		case canLogin == login && canReplicate == replication:
			return nil
		}
		_, err = conn.ExecContext(ctx, "ALTER ROLE "+pq.QuoteIdentifier(role)+" "+attrs)
		return err
	})
}

func flag(on bool, yes, no string) string {
	if on {
		return yes
	}
	return no
}

// SetPassword stores a SCRAM-SHA-256 verifier computed here (scram.go), so
// the plaintext never leaves the operator: not in the statement, not in the
// server log (log_statement, or an error that logs the statement), not in
// pg_stat_activity. Only the verifier travels, and lib/pq's error text never
// quotes the statement.
func (c *client) SetPassword(ctx context.Context, ep Endpoint, role, password string) error {
	if err := validateRoleName(role); err != nil {
		return invalidArgument("set password", ep, err)
	}
	verifier, err := scramVerifier(password)
	if err != nil {
		return invalidArgument("set password", ep, err)
	}
	return c.withConn(ctx, ep, "set password", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, "ALTER ROLE "+pq.QuoteIdentifier(role)+" PASSWORD "+pq.QuoteLiteral(verifier))
		return err
	})
}

// RoleHasPassword reports whether the role's stored password is password.
// It reads the role's SCRAM verifier from pg_authid (superuser only; it
// works on a standby too) and checks it here, so nothing derived from the
// password is sent to the server. A missing role, a role without a
// password or with an md5 one reports false.
func (c *client) RoleHasPassword(ctx context.Context, ep Endpoint, role, password string) (bool, error) {
	if err := validateRoleName(role); err != nil {
		return false, invalidArgument("check password", ep, err)
	}
	var stored sql.NullString
	err := c.withConn(ctx, ep, "check password", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		err := conn.QueryRowContext(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&stored)
		if err == sql.ErrNoRows {
			return nil
		}
		return err
	})
	if err != nil {
		return false, err
	}
	return stored.Valid && scramMatches(stored.String, password), nil
}
