package cluster

import (
	"fmt"
	"strings"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Actions on the declared roles and databases. They are housekeeping on
// the primary like the replication settings: each item is worked on only
// if it was not tried in the last managedRetry with the same inputs, so a
// role that cannot be made as declared never stops the rules after this
// one (scaling, rolls), and never costs more than an attempt a minute.
const (
	// actSyncManaged: the password Secrets, then the roles, then the
	// databases, in one pass (a new cluster's application owner, its
	// Secret and its database come together).
	actSyncManaged actionKind = "SyncRolesAndDatabases"
	actRunInitSQL  actionKind = "RunInitSQL" // the next databaseInitSQL script
)

// isManagedAction: the kinds above (their phase is kept, as for other SQL
// housekeeping).
func isManagedAction(k actionKind) bool { return k == actSyncManaged || k == actRunInitSQL }

// planManaged runs after the password rules: it needs the Secrets and,
// for SQL, a healthy primary it can log in to, nothing else.
func planManaged(in planInput) (action, bool) {
	m := in.obs.managed
	if m == nil {
		return action{}, false
	}
	var what []string
	for _, w := range m.secretsToSync(in.cluster, in.now) {
		what = append(what, w.String())
	}
	if m.sql {
		for _, w := range m.rolesToSync(in.now) {
			what = append(what, w.String())
		}
		for _, w := range m.databasesToSync(in.now) {
			what = append(what, w.String())
		}
	}
	if len(what) > 0 {
		return action{kind: actSyncManaged, reason: strings.Join(what, "; ")}, true
	}
	if i, ok := m.nextScript(in.cluster, in.now); ok {
		ref := in.cluster.Spec.InitSQL()[i]
		return action{kind: actRunInitSQL, reason: fmt.Sprintf("running databaseInitSQL[%d] (%s) in database %s",
			i, describeSQLRef(ref), in.cluster.Spec.AppDatabase())}, true
	}
	return action{}, false
}

// waiting reports whether the item was tried with the same inputs less
// than managedRetry ago.
func (m *managedObs) waiting(key, fp string, now time.Time) bool {
	t, ok := m.mem.tries[key]
	return ok && t.fingerprint == fp && now.Before(t.at.Add(managedRetry))
}

// Secrets ----------------------------------------------------------------

type secretWork struct {
	name, what string // what: create, adopt, details
	role       string
}

func (w secretWork) String() string {
	switch w.what {
	case "create":
		return fmt.Sprintf("creating Secret %s with a generated password for role %s", w.name, w.role)
	case "adopt":
		return fmt.Sprintf("looking for Secret %s, the password of role %s, to watch it", w.name, w.role)
	}
	return fmt.Sprintf("updating the connection details in Secret %s", w.name)
}

func (w secretWork) key() string { return "secret/" + w.name }

func (m *managedObs) secretFP(w secretWork) string {
	pw := ""
	if s := m.secrets[w.name]; s != nil {
		pw = fingerprint(string(s.Data[passwordKey]))
	}
	return itemFingerprint(w.name, w.what, pw)
}

// secretsToSync: generated Secrets that are missing, user Secrets the
// cache does not show (not labelled yet, or missing), and the application
// Secret's connection details when its password changed.
func (m *managedObs) secretsToSync(pgc *v1alpha1.PostgresCluster, now time.Time) []secretWork {
	var out []secretWork
	seen := map[string]bool{}
	for _, r := range m.roles {
		if r.absent || r.invalid != "" || r.secret == "" || seen[r.secret] || m.foreign[r.secret] != "" {
			continue
		}
		seen[r.secret] = true
		w := secretWork{name: r.secret, role: r.Name}
		s := m.secrets[r.secret]
		switch {
		case s == nil && r.generated:
			w.what = "create"
		case s == nil:
			w.what = "adopt"
		case r.secret == AppSecretName(pgc.Name) && len(appDetailsStale(pgc, s, m.ca)) > 0:
			w.what = "details"
		default:
			continue
		}
		if !m.waiting(w.key(), m.secretFP(w), now) {
			out = append(out, w)
		}
	}
	return out
}

// Roles ------------------------------------------------------------------

type roleWork struct {
	wantRole
	what string // create, alter, password, drop
}

func (w roleWork) String() string {
	switch w.what {
	case "password":
		return fmt.Sprintf("setting the password in Secret %s on role %s", w.secret, w.Name)
	case "alter":
		return fmt.Sprintf("altering role %s as declared", w.Name)
	case "drop":
		return fmt.Sprintf("dropping role %s", w.Name)
	}
	return fmt.Sprintf("creating role %s", w.Name)
}

func roleKey(name string) string { return "role/" + name }

func (m *managedObs) roleFP(r wantRole) string {
	pw, _ := m.password(r)
	return itemFingerprint(r, fingerprint(pw), m.primaryUID)
}

// roleDrift says how the role differs from its declaration ("" for not,
// or not known this pass).
func (m *managedObs) roleDrift(r wantRole) string {
	if r.invalid != "" || m.catalog == nil {
		return ""
	}
	have, exists := m.catalog.Roles[r.Name]
	switch {
	case r.absent && exists:
		return "drop"
	case r.absent:
		return ""
	case !exists:
		return "create"
	case !have.Matches(r.ManagedRole):
		return "alter"
	}
	if _, ok := m.password(r); ok && !m.passwordOK[r.Name] {
		return "password"
	}
	return ""
}

func (m *managedObs) rolesToSync(now time.Time) []roleWork {
	var out []roleWork
	for _, r := range m.roles {
		if d := m.roleDrift(r); d != "" && !m.waiting(roleKey(r.Name), m.roleFP(r), now) {
			out = append(out, roleWork{wantRole: r, what: d})
		}
	}
	return out
}

// Databases --------------------------------------------------------------

type dbWork struct {
	wantDatabase
	what string // create, owner, extensions, drop
}

func (w dbWork) String() string {
	switch w.what {
	case "create":
		return fmt.Sprintf("creating database %s owned by %s", w.name, w.owner)
	case "owner":
		return fmt.Sprintf("giving database %s to %s", w.name, w.owner)
	case "extensions":
		return fmt.Sprintf("creating extensions %s in database %s", strings.Join(w.extensions, ", "), w.name)
	}
	return fmt.Sprintf("dropping database %s", w.name)
}

func databaseKey(name string) string { return "database/" + name }

func (m *managedObs) databaseFP(d wantDatabase) string { return itemFingerprint(d, m.primaryUID) }

// extensionsFP is what the memory holds once a database's extensions are
// created on this primary pod.
func (m *managedObs) extensionsFP(d wantDatabase) string {
	return itemFingerprint(d.extensions, m.primaryUID)
}

func (m *managedObs) databaseDrift(d wantDatabase) string {
	if d.invalid != "" || m.catalog == nil {
		return ""
	}
	have, exists := m.catalog.Databases[d.name]
	switch {
	case d.absent && exists:
		return "drop"
	case d.absent:
		return ""
	case !exists:
		return "create"
	case have.Owner != d.owner:
		return "owner"
	case len(d.extensions) > 0 && m.mem.extensions[d.name] != m.extensionsFP(d):
		return "extensions"
	}
	return ""
}

func (m *managedObs) databasesToSync(now time.Time) []dbWork {
	var out []dbWork
	for _, d := range m.databases {
		if what := m.databaseDrift(d); what != "" && !m.waiting(databaseKey(d.name), m.databaseFP(d), now) {
			out = append(out, dbWork{wantDatabase: d, what: what})
		}
	}
	return out
}

// inSync: nothing differs from the declaration and every password Secret
// is there (failures count as differences, so they are read again).
func (m *managedObs) inSync() bool {
	for _, r := range m.roles {
		if m.roleDrift(r) != "" || (!r.absent && r.secret != "" && m.secrets[r.secret] == nil) {
			return false
		}
	}
	for _, d := range m.databases {
		if m.databaseDrift(d) != "" {
			return false
		}
	}
	return true
}

// Init scripts -----------------------------------------------------------

const initSQLKey = "initsql"

func (m *managedObs) scriptFP(pgc *v1alpha1.PostgresCluster, i int) string {
	return itemFingerprint(i, pgc.Spec.InitSQL()[i], m.primaryUID)
}

// nextScript is the script to run now, if any: the first not applied,
// once the application database exists.
func (m *managedObs) nextScript(pgc *v1alpha1.PostgresCluster, now time.Time) (int, bool) {
	i := m.applied(pgc)
	if i >= len(pgc.Spec.InitSQL()) || !m.sql || !m.appDatabaseExists(pgc) {
		return 0, false
	}
	return i, m.scriptChanged || !m.waiting(scriptKey(i), m.scriptFP(pgc, i), now)
}

// appDatabaseExists: the catalog shows it, or it was verified there.
func (m *managedObs) appDatabaseExists(pgc *v1alpha1.PostgresCluster) bool {
	name := pgc.Spec.AppDatabase()
	for _, d := range m.databases {
		if d.name == name && (d.absent || d.invalid != "") {
			return false
		}
	}
	if m.verified {
		return true
	}
	if m.catalog == nil {
		return false
	}
	_, ok := m.catalog.Databases[name]
	return ok
}

func describeSQLRef(ref v1alpha1.SQLRef) string {
	if ref.ConfigMap != "" {
		return fmt.Sprintf("ConfigMap %s, key %s", ref.ConfigMap, ref.Key)
	}
	return fmt.Sprintf("Secret %s, key %s", ref.Secret, ref.Key)
}
