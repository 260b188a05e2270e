package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// The declared roles and databases: spec.roles and spec.databases, plus
// the application's owner and database (spec.bootstrap.initdb, app/app by
// default), which every cluster has. An entry of the spec with the
// application's name takes its place: that is how a user gives the
// application's database extensions or its owner a connection limit.

// wantRole is a role as declared.
type wantRole struct {
	postgres.ManagedRole
	absent bool
	// secret holds the role's password ("" when the operator leaves the
	// password alone: a NOLOGIN role without a passwordSecret).
	secret string
	// generated: the operator makes the Secret when it is missing.
	generated bool
	// invalid says why the operator will not touch the role (a name the
	// CRD refuses, in an object stored before the rule existed).
	invalid string
}

// wantDatabase is a database as declared.
type wantDatabase struct {
	name, owner string
	extensions  []string
	absent      bool
	withData    bool // reclaim: delete
	invalid     string
}

func desiredRoles(pgc *v1alpha1.PostgresCluster) []wantRole {
	appOwner := pgc.Spec.AppOwner()
	var out []wantRole
	if !slices.ContainsFunc(pgc.Spec.Roles, func(r v1alpha1.RoleSpec) bool { return r.Name == appOwner }) {
		out = append(out, wantRole{ManagedRole: postgres.ManagedRole{Name: appOwner, Login: true, ConnectionLimit: -1},
			secret: AppSecretName(pgc.Name), generated: true})
	}
	for _, r := range pgc.Spec.Roles {
		out = append(out, wantRoleOf(pgc, r, appOwner))
	}
	return out
}

func wantRoleOf(pgc *v1alpha1.PostgresCluster, r v1alpha1.RoleSpec, appOwner string) wantRole {
	w := wantRole{ManagedRole: postgres.ManagedRole{Name: r.Name, Login: r.Login, CreateDB: r.CreateDB,
		CreateRole: r.CreateRole, ConnectionLimit: -1, InRoles: slices.Sorted(slices.Values(r.InRoles))},
		absent: r.Ensure == v1alpha1.EnsureAbsent}
	if r.ConnectionLimit != nil {
		w.ConnectionLimit = *r.ConnectionLimit
	}
	switch {
	case r.Name == appOwner:
		w.secret, w.generated = AppSecretName(pgc.Name), true
	case r.PasswordSecret != nil:
		w.secret = r.PasswordSecret.Name
	case r.Login:
		w.secret, w.generated = RoleSecretName(pgc.Name, r.Name), true
	}
	if err := v1alpha1.ValidateRoleName(r.Name); err != nil {
		w.invalid = err.Error()
	}
	return w
}

func desiredDatabases(pgc *v1alpha1.PostgresCluster) []wantDatabase {
	appDB := pgc.Spec.AppDatabase()
	var out []wantDatabase
	if !slices.ContainsFunc(pgc.Spec.Databases, func(d v1alpha1.DatabaseSpec) bool { return d.Name == appDB }) {
		out = append(out, wantDatabase{name: appDB, owner: pgc.Spec.AppOwner()})
	}
	for _, d := range pgc.Spec.Databases {
		w := wantDatabase{name: d.Name, owner: d.Owner, extensions: slices.Sorted(slices.Values(d.Extensions)),
			absent: d.Ensure == v1alpha1.EnsureAbsent, withData: d.Reclaim == v1alpha1.ReclaimDelete}
		if err := v1alpha1.ValidateDatabaseName(d.Name); err != nil {
			w.invalid = err.Error()
		}
		out = append(out, w)
	}
	return out
}

// names lists what ReadCatalog is asked for.
func roleNames(rs []wantRole) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func databaseNames(ds []wantDatabase) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.name)
	}
	return out
}

// itemFingerprint identifies what was attempted for one role or database,
// so a failure is retried at once when it changes (a fixed spec, a new
// password, a new primary) and after a back-off otherwise.
func itemFingerprint(parts ...any) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%#v", parts))
	return hex.EncodeToString(sum[:8])
}
