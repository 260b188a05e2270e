package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/lib/pq"
)

// Roles and databases the operator manages for the user (spec.roles,
// spec.databases, the application's database). The calls that change them
// are each idempotent: they read what is there on their own connection and
// write only what differs, so a caller that planned on a stale view does no
// harm. Every identifier is sent quoted (pq.QuoteIdentifier); passwords go
// through SetPassword only, as verifiers.

// ManagedRole is a role as declared.
type ManagedRole struct {
	Name                 string
	Login                bool
	CreateDB, CreateRole bool
	// ConnectionLimit is -1 for none.
	ConnectionLimit int32
	// InRoles are the roles it is a member of; every other membership is
	// revoked.
	InRoles []string
}

// RoleInfo is a role as it is.
type RoleInfo struct {
	ManagedRole
	// Attributes a managed role never has: the operator removes them.
	Superuser, Replication, BypassRLS bool
	// Verifier is the stored SCRAM verifier ("" for none). It is not the
	// password, but still a secret: never log it.
	Verifier string
}

// Matches reports whether the role is as declared (its password aside).
func (r RoleInfo) Matches(want ManagedRole) bool {
	have := r.ManagedRole
	return !r.Superuser && !r.Replication && !r.BypassRLS &&
		have.Login == want.Login && have.CreateDB == want.CreateDB && have.CreateRole == want.CreateRole &&
		have.ConnectionLimit == want.ConnectionLimit && sameSet(have.InRoles, want.InRoles)
}

// DatabaseInfo is a database as it is.
type DatabaseInfo struct {
	Name, Owner string
}

// Catalog is the state of the roles and databases asked for: the ones
// that do not exist are absent from the maps.
type Catalog struct {
	Roles     map[string]RoleInfo
	Databases map[string]DatabaseInfo
}

// catalogQuery reads roles (with memberships and verifiers, hence
// pg_authid: superuser only) and databases in one round trip.
const catalogQuery = `
SELECT
  coalesce((SELECT json_agg(json_build_object(
      'name', a.rolname, 'login', a.rolcanlogin, 'createdb', a.rolcreatedb,
      'createrole', a.rolcreaterole, 'connlimit', a.rolconnlimit,
      'superuser', a.rolsuper, 'replication', a.rolreplication, 'bypassrls', a.rolbypassrls,
      'verifier', coalesce(a.rolpassword, ''),
      'inroles', (SELECT coalesce(json_agg(DISTINCT g.rolname), '[]') FROM pg_auth_members m
                  JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = a.oid)))
    FROM pg_authid a WHERE a.rolname = ANY($1)), '[]'),
  coalesce((SELECT json_agg(json_build_object('name', d.datname, 'owner', pg_get_userbyid(d.datdba)))
    FROM pg_database d WHERE d.datname = ANY($2)), '[]')`

type catalogRole struct {
	Name        string   `json:"name"`
	Login       bool     `json:"login"`
	CreateDB    bool     `json:"createdb"`
	CreateRole  bool     `json:"createrole"`
	ConnLimit   int32    `json:"connlimit"`
	Superuser   bool     `json:"superuser"`
	Replication bool     `json:"replication"`
	BypassRLS   bool     `json:"bypassrls"`
	Verifier    string   `json:"verifier"`
	InRoles     []string `json:"inroles"`
}

// ReadCatalog reads the named roles and databases in one query.
func (c *client) ReadCatalog(ctx context.Context, ep Endpoint, roles, databases []string) (Catalog, error) {
	out := Catalog{Roles: map[string]RoleInfo{}, Databases: map[string]DatabaseInfo{}}
	var rolesJSON, dbsJSON []byte
	err := c.withConn(ctx, ep, "read catalog", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		return conn.QueryRowContext(ctx, catalogQuery, pq.Array(roles), pq.Array(databases)).Scan(&rolesJSON, &dbsJSON)
	})
	if err != nil {
		return out, err
	}
	var rs []catalogRole
	var ds []DatabaseInfo
	if err := json.Unmarshal(rolesJSON, &rs); err != nil {
		return out, fmt.Errorf("read catalog: roles: %w", err)
	}
	if err := json.Unmarshal(dbsJSON, &ds); err != nil {
		return out, fmt.Errorf("read catalog: databases: %w", err)
	}
	for _, r := range rs {
		slices.Sort(r.InRoles)
		out.Roles[r.Name] = RoleInfo{
			ManagedRole: ManagedRole{Name: r.Name, Login: r.Login, CreateDB: r.CreateDB, CreateRole: r.CreateRole,
				ConnectionLimit: r.ConnLimit, InRoles: r.InRoles},
			Superuser: r.Superuser, Replication: r.Replication, BypassRLS: r.BypassRLS, Verifier: r.Verifier,
		}
	}
	for _, d := range ds {
		out.Databases[d.Name] = d
	}
	return out, nil
}

// PasswordMatches reports whether a stored SCRAM verifier was made from
// password. It costs a key derivation (4096 rounds): callers cache it.
func PasswordMatches(verifier, password string) bool { return scramMatches(verifier, password) }

// SCRAMVerifier computes the verifier SetPassword stores, for the fake.
func SCRAMVerifier(password string) (string, error) { return scramVerifier(password) }

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}
