package v1alpha1

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Roles, databases and the application database. The rules on names live
// here once; the CRD's markers below spell the same pattern and lists,
// because a marker cannot name a Go constant, and roles_test.go fails when
// the generated CRD and these disagree.

// NamePattern is what a managed role or database may be called: lower
// case (so the name means the same quoted or not, and `psql -U Name` is
// not a trap), starting with a letter, ending with a letter or digit (the
// generated Secret <cluster>-role-<name> must be a valid object name), at
// most 63 bytes (PostgreSQL truncates longer identifiers).
const NamePattern = `^[a-z]([a-z0-9_-]{0,61}[a-z0-9])?$`

// ExtensionPattern is an extension name (uuid-ossp has a dash).
const ExtensionPattern = `^[a-z_][a-z0-9_-]{0,62}$`

// ReservedRoleNames may not be declared: the operator's own roles, and the
// names PostgreSQL reserves. Names starting with pg_ are reserved too.
var ReservedRoleNames = []string{"postgres", "replicator", "public", "none", "current_role", "current_user", "session_user"}

// ReservedDatabaseNames may not be declared: the operator connects to
// postgres, and the templates make every other database.
var ReservedDatabaseNames = []string{"postgres", "template0", "template1"}

// Defaults of the application database and its owner.
const (
	DefaultAppDatabase = "app"
	DefaultAppOwner    = "app"
)

// InitdbSpec is what initdb bootstraps besides the cluster itself: the
// application's database and owner, and SQL to run once in it.
type InitdbSpec struct {
	// Database is the application's database (default app), created at
	// bootstrap and owned by Owner.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([a-z0-9_-]{0,61}[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="!(self in ['postgres', 'template0', 'template1'])",message="initdb.database may not be postgres, template0 or template1"
	Database string `json:"database,omitempty"`

	// Owner is the application's role (default app). It can log in with
	// the password in Secret <cluster>-app, which also holds the
	// connection details (host, port, dbname, uri, jdbc-uri).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([a-z0-9_-]{0,61}[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="!(self in ['postgres', 'replicator', 'public', 'none', 'current_role', 'current_user', 'session_user']) && !self.startsWith('pg_')",message="initdb.owner may not be postgres, replicator, a name PostgreSQL reserves or start with pg_"
	Owner string `json:"owner,omitempty"`

	// DatabaseInitSQL are scripts run once each, in order, in the
	// application database as the superuser, once it exists. Each runs in
	// one transaction: a script that fails changes nothing, is reported in
	// the InitSQLApplied condition and a Warning Event, and runs again
	// once its content changes. The scripts after it wait.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	DatabaseInitSQL []SQLRef `json:"databaseInitSQL,omitempty"`
}

// SQLRef names a key of a ConfigMap or a Secret that holds an SQL script.
// +kubebuilder:validation:XValidation:rule="has(self.configMap) != has(self.secret)",message="databaseInitSQL: each entry names either a configMap or a secret"
type SQLRef struct {
	// ConfigMap in the cluster's namespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ConfigMap string `json:"configMap,omitempty"`
	// Secret in the cluster's namespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Secret string `json:"secret,omitempty"`
	// Key of the script in the ConfigMap or Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// Ensure says whether a declared role or database must exist.
// +kubebuilder:validation:Enum=present;absent
type Ensure string

const (
	EnsurePresent Ensure = "present"
	EnsureAbsent  Ensure = "absent"
)

// Reclaim says what ensure: absent may do to a database that holds tables.
// +kubebuilder:validation:Enum=retain;delete
type Reclaim string

const (
	// ReclaimRetain drops a database only while it has no tables.
	ReclaimRetain Reclaim = "retain"
	// ReclaimDelete drops it with its data, disconnecting its sessions.
	ReclaimDelete Reclaim = "delete"
)

// RoleSpec is a role the operator creates and keeps as declared on the
// primary. Roles removed from the list are left alone; ensure: absent
// drops one.
type RoleSpec struct {
	// Name of the role.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([a-z0-9_-]{0,61}[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="!(self in ['postgres', 'replicator', 'public', 'none', 'current_role', 'current_user', 'session_user']) && !self.startsWith('pg_')",message="roles: a name may not be postgres, replicator, a name PostgreSQL reserves or start with pg_"
	Name string `json:"name"`

	// Ensure is present (default) or absent. A role that still owns
	// objects is not dropped: reassign them first.
	// +optional
	// +kubebuilder:default=present
	Ensure Ensure `json:"ensure,omitempty"`

	// Login lets the role log in (LOGIN). Off by default, as in CREATE ROLE.
	// +optional
	Login bool `json:"login,omitempty"`

	// PasswordSecret names a Secret whose key password is the role's
	// password; a change reaches the role within a reconcile pass. Without
	// it, a login role gets a generated password in Secret
	// <cluster>-role-<name> ('_' in the name becomes '-').
	// +optional
	PasswordSecret *LocalSecretReference `json:"passwordSecret,omitempty"`

	// ConnectionLimit is the role's CONNECTION LIMIT; -1 (default) is none.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	ConnectionLimit *int32 `json:"connectionLimit,omitempty"`

	// InRoles are the roles this role is a member of, such as
	// pg_read_all_data; memberships not listed are revoked.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:MinLength=1
	InRoles []string `json:"inRoles,omitempty"`

	// CreateDB lets the role create databases (CREATEDB).
	// +optional
	CreateDB bool `json:"createdb,omitempty"`

	// CreateRole lets the role create roles (CREATEROLE).
	// +optional
	CreateRole bool `json:"createrole,omitempty"`
}

// LocalSecretReference names a Secret in the cluster's namespace.
type LocalSecretReference struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// DatabaseSpec is a database the operator creates and keeps as declared.
// Databases removed from the list are left alone; ensure: absent drops
// one, and only while it has no tables unless reclaim is delete.
// +kubebuilder:validation:XValidation:rule="(has(self.ensure) && self.ensure == 'absent') || has(self.owner)",message="databases: owner is required unless ensure is absent"
type DatabaseSpec struct {
	// Name of the database.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([a-z0-9_-]{0,61}[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="!(self in ['postgres', 'template0', 'template1'])",message="databases: a name may not be postgres, template0 or template1"
	Name string `json:"name"`

	// Ensure is present (default) or absent.
	// +optional
	// +kubebuilder:default=present
	Ensure Ensure `json:"ensure,omitempty"`

	// Owner of the database: postgres, the application's owner or a role
	// of spec.roles.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:MinLength=1
	Owner string `json:"owner,omitempty"`

	// Extensions created in the database (CREATE EXTENSION IF NOT EXISTS).
	// An extension removed from the list is left installed.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[a-z_][a-z0-9_-]{0,62}$`
	Extensions []string `json:"extensions,omitempty"`

	// Reclaim is what ensure: absent may do to a database with tables:
	// retain (default) keeps it and says so; delete drops it with its
	// data, ending its sessions (DROP DATABASE ... WITH (FORCE)).
	// +optional
	// +kubebuilder:default=retain
	Reclaim Reclaim `json:"reclaim,omitempty"`
}

// ManagedState is the outcome for one declared role or database.
type ManagedState string

const (
	// StatePresent: it exists as declared.
	StatePresent ManagedState = "Present"
	// StateAbsent: ensure: absent, and it does not exist.
	StateAbsent ManagedState = "Absent"
	// StatePending: the operator is about to make it as declared.
	StatePending ManagedState = "Pending"
	// StateFailed: the operator could not; the message says why.
	StateFailed ManagedState = "Failed"
)

// ManagedStatus reports one role or database.
type ManagedStatus struct {
	Name  string       `json:"name"`
	State ManagedState `json:"state"`
	// Message says why the object is not as declared.
	// +optional
	Message string `json:"message,omitempty"`
}

// InitSQLStatus reports spec.bootstrap.initdb.databaseInitSQL.
type InitSQLStatus struct {
	// Applied counts the scripts that ran and committed, in order; they
	// never run again.
	// +optional
	Applied int32 `json:"applied,omitempty"`
}

// Condition types of roles, databases and the init scripts.
const (
	// ConditionRolesInSync is True when every declared role (and the
	// application's owner) is as declared, passwords included.
	ConditionRolesInSync = "RolesInSync"
	// ConditionDatabasesInSync is True when every declared database (and
	// the application's) is as declared, extensions included.
	ConditionDatabasesInSync = "DatabasesInSync"
	// ConditionInitSQLApplied is True once every databaseInitSQL script ran.
	ConditionInitSQLApplied = "InitSQLApplied"
)

// AppDatabase is the application database's name.
func (s *PostgresClusterSpec) AppDatabase() string {
	if b := s.Bootstrap; b != nil && b.Initdb != nil && b.Initdb.Database != "" {
		return b.Initdb.Database
	}
	return DefaultAppDatabase
}

// AppOwner is the application database's owner.
func (s *PostgresClusterSpec) AppOwner() string {
	if b := s.Bootstrap; b != nil && b.Initdb != nil && b.Initdb.Owner != "" {
		return b.Initdb.Owner
	}
	return DefaultAppOwner
}

// InitSQL is the list of scripts to run once in the application database.
func (s *PostgresClusterSpec) InitSQL() []SQLRef {
	if b := s.Bootstrap; b != nil && b.Initdb != nil {
		return b.Initdb.DatabaseInitSQL
	}
	return nil
}

var nameRE = regexp.MustCompile(NamePattern)

// ValidateRoleName applies the CRD's rules to a role name. The API server
// enforces them; the operator checks again so an object stored before a
// rule existed cannot make it touch its own roles.
func ValidateRoleName(name string) error {
	switch {
	case !nameRE.MatchString(name):
		return fmt.Errorf("role name %q must match %s", name, NamePattern)
	case slices.Contains(ReservedRoleNames, name), strings.HasPrefix(name, "pg_"):
		return fmt.Errorf("role name %q is reserved", name)
	}
	return nil
}

// ValidateDatabaseName applies the CRD's rules to a database name.
func ValidateDatabaseName(name string) error {
	switch {
	case !nameRE.MatchString(name):
		return fmt.Errorf("database name %q must match %s", name, NamePattern)
	case slices.Contains(ReservedDatabaseNames, name):
		return fmt.Errorf("database name %q is reserved", name)
	}
	return nil
}
