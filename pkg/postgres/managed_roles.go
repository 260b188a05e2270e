package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/lib/pq"
)

// localCommit makes the session's commits wait for the primary's disk
// only. In synchronous mode with every replica down, a role or database
// change would otherwise hang until the statement timeout (and then be
// committed anyway). A change a failover loses is found missing on the new
// primary and made again.
func localCommit(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, `SET synchronous_commit TO local`)
	return err
}

// membership is one row of pg_auth_members for the role: the group and
// who granted it (PostgreSQL 16 keeps one grant per grantor).
type membership struct {
	Role    string  `json:"role"`
	Grantor *string `json:"grantor"`
}

const roleQuery = `
SELECT r.rolcanlogin, r.rolcreatedb, r.rolcreaterole, r.rolconnlimit,
       r.rolsuper, r.rolreplication, r.rolbypassrls,
       coalesce((SELECT json_agg(json_build_object('role', g.rolname, 'grantor', gr.rolname))
                 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                 LEFT JOIN pg_roles gr ON gr.oid = m.grantor WHERE m.member = r.oid), '[]'),
       current_setting('server_version_num')::int
FROM pg_roles r WHERE r.rolname = $1`

// EnsureManagedRole creates the role or corrects its attributes, then
// grants the memberships it lacks and revokes the others. A managed role
// is never a superuser, a replication role or exempt from row security.
// A non-empty password is set in the same statement, as a verifier
// computed here (see SetPassword), so a new role never exists without it;
// "" leaves the password alone.
func (c *client) EnsureManagedRole(ctx context.Context, ep Endpoint, r ManagedRole, password string) error {
	for _, name := range append([]string{r.Name}, r.InRoles...) {
		if err := validateRoleName(name); err != nil {
			return invalidArgument("ensure role", ep, err)
		}
	}
	verifier := ""
	if password != "" {
		v, err := scramVerifier(password)
		if err != nil {
			return invalidArgument("ensure role", ep, err)
		}
		verifier = v
	}
	return c.withOwnConn(ctx, ep, "ensure role", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		if err := localCommit(ctx, conn); err != nil {
			return err
		}
		var have RoleInfo
		var members []byte
		var version int
		err := conn.QueryRowContext(ctx, roleQuery, r.Name).Scan(&have.Login, &have.CreateDB, &have.CreateRole,
			&have.ConnectionLimit, &have.Superuser, &have.Replication, &have.BypassRLS, &members, &version)
		exists := err == nil
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		var grants []membership
		if exists {
			if err := json.Unmarshal(members, &grants); err != nil {
				return err
			}
		}
		// One transaction: a membership that fails leaves the role as it was.
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if err := ensureRoleAttributes(ctx, tx, r, verifier, have, exists); err != nil {
			return err
		}
		if err := syncMemberships(ctx, tx, r, grants, version); err != nil {
			return err
		}
		return tx.Commit()
	})
}

func ensureRoleAttributes(ctx context.Context, tx *sql.Tx, r ManagedRole, verifier string, have RoleInfo, exists bool) error {
	attrs := roleAttributes(r)
	if verifier != "" {
		attrs += " PASSWORD " + pq.QuoteLiteral(verifier)
	}
	verb := "CREATE ROLE "
	if exists {
		have.InRoles = r.InRoles // memberships are compared apart
		if have.Matches(r) && verifier == "" {
			return nil
		}
		verb = "ALTER ROLE "
	}
	_, err := tx.ExecContext(ctx, verb+pq.QuoteIdentifier(r.Name)+" "+attrs)
	return err
}

// roleAttributes spells every attribute the operator decides, so one
// statement sets them all.
func roleAttributes(r ManagedRole) string {
	return strings.Join([]string{
		flag(r.Login, "LOGIN", "NOLOGIN"), "NOSUPERUSER",
		flag(r.CreateDB, "CREATEDB", "NOCREATEDB"), flag(r.CreateRole, "CREATEROLE", "NOCREATEROLE"),
		"NOREPLICATION", "NOBYPASSRLS", fmt.Sprintf("CONNECTION LIMIT %d", r.ConnectionLimit),
	}, " ")
}

// syncMemberships grants the missing groups and revokes the others. On
// PostgreSQL 16+ a revoke names each grantor, or a grant made by another
// role would survive it.
func syncMemberships(ctx context.Context, tx *sql.Tx, r ManagedRole, grants []membership, version int) error {
	role := pq.QuoteIdentifier(r.Name)
	for _, g := range r.InRoles {
		if slices.ContainsFunc(grants, func(m membership) bool { return m.Role == g }) {
			continue
		}
		if _, err := tx.ExecContext(ctx, "GRANT "+pq.QuoteIdentifier(g)+" TO "+role); err != nil {
			return fmt.Errorf("granting %s: %w", g, err)
		}
	}
	for _, m := range grants {
		if slices.Contains(r.InRoles, m.Role) {
			continue
		}
		stmt := "REVOKE " + pq.QuoteIdentifier(m.Role) + " FROM " + role
		if version >= 160000 && m.Grantor != nil {
			stmt += " GRANTED BY " + pq.QuoteIdentifier(*m.Grantor)
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("revoking %s: %w", m.Role, err)
		}
	}
	return nil
}

// roleDependencies is what keeps a role from being dropped: objects it
// owns (in any database, databases included), and the databases where it
// holds privileges.
const roleDependencies = `
SELECT count(*) FILTER (WHERE s.deptype = 'o'),
       coalesce(array_agg(DISTINCT coalesce(d.datname, '')) FILTER (WHERE s.deptype = 'o'), '{}'),
       coalesce(array_agg(DISTINCT coalesce(d.datname, '')) FILTER (WHERE s.deptype <> 'o'), '{}')
FROM pg_shdepend s LEFT JOIN pg_database d ON d.oid = s.dbid
WHERE s.refclassid = 'pg_authid'::regclass
  AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)`

// DropManagedRole drops the role if it exists, but only if it owns
// nothing: objects it owns are data someone may need, so it fails with an
// error that says where they are. Privileges granted to it are revoked
// first (DROP OWNED BY, which with nothing owned only revokes), in every
// database that has some.
func (c *client) DropManagedRole(ctx context.Context, ep Endpoint, role string) error {
	if err := validateRoleName(role); err != nil {
		return invalidArgument("drop role", ep, err)
	}
	var exists bool
	var owned int
	var ownedIn, privilegesIn []string
	err := c.withOwnConn(ctx, ep, "drop role", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil || !exists {
			return err
		}
		return conn.QueryRowContext(ctx, roleDependencies, role).Scan(&owned, pq.Array(&ownedIn), pq.Array(&privilegesIn))
	})
	switch {
	case err != nil || !exists:
		return err
	case owned > 0:
		return invalidArgument("drop role", ep, fmt.Errorf(
			"role %q owns %d objects (in %s): it is kept; reassign them (REASSIGN OWNED BY %s TO ...) or drop them first",
			role, owned, describeDatabases(ownedIn), pq.QuoteIdentifier(role)))
	}
	here := ep.database()
	for _, db := range privilegesIn {
		if db == "" || db == here {
			continue // shared objects and this database: below
		}
		other := ep
		other.Database = db
		if err := c.withOwnConn(ctx, other, "drop role", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
			_, err := conn.ExecContext(ctx, "DROP OWNED BY "+pq.QuoteIdentifier(role))
			return err
		}); err != nil {
			return err
		}
	}
	return c.withOwnConn(ctx, ep, "drop role", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		if err := localCommit(ctx, conn); err != nil {
			return err
		}
		if len(privilegesIn) > 0 {
			if _, err := conn.ExecContext(ctx, "DROP OWNED BY "+pq.QuoteIdentifier(role)); err != nil && SQLState(err) != undefinedObject {
				return err
			}
		}
		_, err := conn.ExecContext(ctx, "DROP ROLE IF EXISTS "+pq.QuoteIdentifier(role))
		return err
	})
}

// describeDatabases names the databases of pg_shdepend rows; "" stands
// for shared objects, which for a role's ownership means databases.
func describeDatabases(dbs []string) string {
	var out []string
	for _, d := range dbs {
		if d == "" {
			out = append(out, "the databases it owns")
		} else {
			out = append(out, "database "+d)
		}
	}
	return strings.Join(out, ", ")
}
