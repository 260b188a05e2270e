package cluster

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

func int32p(n int32) *int32 { return &n }

// The operator's own roles are names the API refuses for spec.roles.
func TestOperatorRolesAreReserved(t *testing.T) {
	assert.Contains(t, v1alpha1.ReservedRoleNames, replicationUser)
	assert.Contains(t, v1alpha1.ReservedRoleNames, superuserRole.name)
}

func TestDesiredRolesAndDatabases(t *testing.T) {
	t.Run("every cluster has the application's owner and database", func(t *testing.T) {
		pgc := testCluster(1)
		assert.Equal(t, []wantRole{{ManagedRole: postgres.ManagedRole{Name: "app", Login: true, ConnectionLimit: -1},
			secret: "demo-app", generated: true}}, desiredRoles(pgc))
		assert.Equal(t, []wantDatabase{{name: "app", owner: "app"}}, desiredDatabases(pgc))
	})
	t.Run("names from initdb, roles and databases from the spec", func(t *testing.T) {
		pgc := testCluster(1, func(p *v1alpha1.PostgresCluster) {
			p.Spec.Bootstrap = &v1alpha1.BootstrapSpec{Initdb: &v1alpha1.InitdbSpec{Database: "shop", Owner: "shop_owner"}}
			p.Spec.Roles = []v1alpha1.RoleSpec{
				{Name: "reporting", Login: true, ConnectionLimit: int32p(5), InRoles: []string{"readers", "pg_read_all_data"}},
				{Name: "readers"},
				{Name: "etl_job", Login: true, PasswordSecret: &v1alpha1.LocalSecretReference{Name: "etl-pw"}},
				{Name: "gone", Login: true, Ensure: v1alpha1.EnsureAbsent},
			}
			p.Spec.Databases = []v1alpha1.DatabaseSpec{{Name: "analytics", Owner: "reporting", Extensions: []string{"pg_trgm", "citext"}},
				{Name: "old", Ensure: v1alpha1.EnsureAbsent, Reclaim: v1alpha1.ReclaimDelete}}
		})
		roles := desiredRoles(pgc)
		require.Len(t, roles, 5)
		assert.Equal(t, "shop_owner", roles[0].Name)
		assert.Equal(t, "demo-app", roles[0].secret)
		assert.Equal(t, postgres.ManagedRole{Name: "reporting", Login: true, ConnectionLimit: 5,
			InRoles: []string{"pg_read_all_data", "readers"}}, roles[1].ManagedRole)
		assert.Equal(t, "demo-role-reporting", roles[1].secret)
		assert.True(t, roles[1].generated)
		assert.Empty(t, roles[2].secret, "a group role's password is left alone")
		assert.Equal(t, "etl-pw", roles[3].secret)
		assert.False(t, roles[3].generated)
		assert.True(t, roles[4].absent)

		dbs := desiredDatabases(pgc)
		assert.Equal(t, []wantDatabase{{name: "shop", owner: "shop_owner"},
			{name: "analytics", owner: "reporting", extensions: []string{"citext", "pg_trgm"}},
			{name: "old", absent: true, withData: true}}, dbs)
	})
	t.Run("an entry with the application's name takes its place", func(t *testing.T) {
		pgc := testCluster(1, func(p *v1alpha1.PostgresCluster) {
			p.Spec.Roles = []v1alpha1.RoleSpec{{Name: "app", Login: true, ConnectionLimit: int32p(20)}}
			p.Spec.Databases = []v1alpha1.DatabaseSpec{{Name: "app", Owner: "app", Extensions: []string{"pg_trgm"}}}
		})
		roles := desiredRoles(pgc)
		require.Len(t, roles, 1)
		assert.Equal(t, int32(20), roles[0].ConnectionLimit)
		assert.Equal(t, "demo-app", roles[0].secret, "its password is still in the application Secret")
		assert.Equal(t, []wantDatabase{{name: "app", owner: "app", extensions: []string{"pg_trgm"}}}, desiredDatabases(pgc))
	})
	t.Run("a name the API would refuse is never touched", func(t *testing.T) {
		pgc := testCluster(1, func(p *v1alpha1.PostgresCluster) {
			p.Spec.Roles = []v1alpha1.RoleSpec{{Name: "replicator", Login: true}}
			p.Spec.Databases = []v1alpha1.DatabaseSpec{{Name: "template1", Owner: "app"}}
		})
		assert.Contains(t, desiredRoles(pgc)[1].invalid, "reserved")
		assert.Contains(t, desiredDatabases(pgc)[1].invalid, "reserved")
		m := &managedObs{roles: desiredRoles(pgc), databases: desiredDatabases(pgc), mem: &managedMemory{},
			catalog: &postgres.Catalog{Roles: map[string]postgres.RoleInfo{}, Databases: map[string]postgres.DatabaseInfo{}}}
		assert.Empty(t, m.roleDrift(m.roles[1]))
		assert.Empty(t, m.databaseDrift(m.databases[1]))
		assert.Equal(t, v1alpha1.StateFailed, m.roleStatus(m.roles[1]).State)
	})
}

func TestRoleSecretName(t *testing.T) {
	assert.Equal(t, "demo-role-etl-job", RoleSecretName("demo", "etl_job"))
	assert.Equal(t, "demo-app", AppSecretName("demo"))
}

func TestBuildAppSecret(t *testing.T) {
	pgc := testCluster(1, func(p *v1alpha1.PostgresCluster) {
		p.Spec.Bootstrap = &v1alpha1.BootstrapSpec{Initdb: &v1alpha1.InitdbSpec{Database: "shop", Owner: "shop_owner"}}
	})
	const pw = `p@ss:w/rd?&=#% x`
	s := buildAppSecret(pgc, pw, nil)
	assert.Equal(t, "demo-app", s.Name)
	assert.Equal(t, corev1.SecretTypeBasicAuth, s.Type)
	assert.Equal(t, "demo", s.Labels[ClusterLabel])
	require.Len(t, s.OwnerReferences, 1)
	assert.True(t, *s.OwnerReferences[0].Controller)
	for k, want := range map[string]string{"username": "shop_owner", "password": pw, "host": "demo-rw.ns.svc",
		"port": "5432", "dbname": "shop"} {
		assert.Equal(t, want, string(s.Data[k]), k)
	}
	uri, err := url.Parse(string(s.Data["uri"]))
	require.NoError(t, err)
	got, _ := uri.User.Password()
	assert.Equal(t, pw, got, "the password survives the URI's escaping")
	assert.Equal(t, "postgresql://shop_owner:", string(s.Data["uri"])[:len("postgresql://shop_owner:")])
	assert.Equal(t, "demo-rw.ns.svc:5432", uri.Host)
	assert.Equal(t, "/shop", uri.Path)

	jdbc, err := url.Parse(string(s.Data["jdbc-uri"])[len("jdbc:"):])
	require.NoError(t, err)
	assert.Equal(t, "postgresql", jdbc.Scheme)
	assert.Equal(t, "demo-rw.ns.svc:5432", jdbc.Host)
	assert.Equal(t, "/shop", jdbc.Path)
	assert.Equal(t, pw, jdbc.Query().Get("password"))
	assert.Equal(t, "shop_owner", jdbc.Query().Get("user"))

	t.Run("stale details follow a changed password, never the password itself", func(t *testing.T) {
		s.Data["password"] = []byte("changed")
		stale := appDetailsStale(pgc, s, nil)
		assert.ElementsMatch(t, []string{"uri", "jdbc-uri"}, keys(stale))
		s.Data["password"] = []byte("") // refused: nothing is rebuilt from it
		assert.Empty(t, appDetailsStale(pgc, s, nil))
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestOrderRoles(t *testing.T) {
	w := func(name, what string, in ...string) roleWork {
		return roleWork{wantRole: wantRole{ManagedRole: postgres.ManagedRole{Name: name, InRoles: in}}, what: what}
	}
	names := func(ws []roleWork) []string {
		var out []string
		for _, x := range ws {
			out = append(out, x.Name)
		}
		return out
	}
	got := orderRoles([]roleWork{w("old", "drop"), w("alice", "create", "readers", "pg_monitor"), w("readers", "create", "base"),
		w("base", "alter"), w("bob", "password")})
	assert.Equal(t, []string{"base", "bob", "readers", "alice", "old"}, names(got))
	cycle := orderRoles([]roleWork{w("a", "create", "b"), w("b", "create", "a")})
	assert.Equal(t, []string{"a", "b"}, names(cycle), "a cycle is left to PostgreSQL to refuse")
}

// managedFixture is an observation of a healthy primary with a catalog.
func managedFixture(pgc *v1alpha1.PostgresCluster, cat postgres.Catalog, secrets ...*corev1.Secret) *managedObs {
	m := &managedObs{roles: desiredRoles(pgc), databases: desiredDatabases(pgc), secrets: map[string]*corev1.Secret{},
		foreign: map[string]string{}, sql: true, primaryUID: "uid-demo-1", catalog: &cat, passwordOK: map[string]bool{},
		mem: &managedMemory{}}
	for _, s := range secrets {
		m.secrets[s.Name] = s
	}
	for _, r := range m.roles {
		if have, ok := cat.Roles[r.Name]; ok {
			if pw, ok := m.password(r); ok {
				m.passwordOK[r.Name] = postgres.PasswordMatches(have.Verifier, pw)
			}
		}
	}
	return m
}

func verifier(t *testing.T, pw string) string {
	v, err := postgres.SCRAMVerifier(pw)
	require.NoError(t, err)
	return v
}

func TestPlanManaged(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	appRole := postgres.RoleInfo{ManagedRole: postgres.ManagedRole{Name: "app", Login: true, ConnectionLimit: -1}, Verifier: verifier(t, "pw")}
	inSync := postgres.Catalog{Roles: map[string]postgres.RoleInfo{"app": appRole},
		Databases: map[string]postgres.DatabaseInfo{"app": {Name: "app", Owner: "app"}}}
	now := time.Now()
	planned := func(m *managedObs) action {
		obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary)))
		obs.managed = m
		in := input(pgc, obs)
		in.now = now
		a, _ := planManaged(in)
		return a
	}

	t.Run("in sync: nothing", func(t *testing.T) {
		m := managedFixture(pgc, inSync, buildAppSecret(pgc, "pw", nil))
		assert.True(t, m.inSync())
		assert.Equal(t, actionKind(""), planned(m).kind)
	})
	t.Run("a new cluster: Secret, role and database in one action", func(t *testing.T) {
		m := managedFixture(pgc, postgres.Catalog{Roles: map[string]postgres.RoleInfo{}, Databases: map[string]postgres.DatabaseInfo{}})
		a := planned(m)
		assert.Equal(t, actSyncManaged, a.kind)
		assert.Equal(t, "creating Secret demo-app with a generated password for role app; creating role app; creating database app owned by app", a.reason)
	})
	t.Run("a changed password", func(t *testing.T) {
		edited := buildAppSecret(pgc, "pw", nil)
		edited.Data[passwordKey] = []byte("new") // kubectl patch, as a user rotates it
		m := managedFixture(pgc, inSync, edited)
		a := planned(m)
		assert.Equal(t, actSyncManaged, a.kind)
		assert.Equal(t, "updating the connection details in Secret demo-app; setting the password in Secret demo-app on role app", a.reason)
	})
	t.Run("drift made by hand", func(t *testing.T) {
		cat := postgres.Catalog{Roles: map[string]postgres.RoleInfo{"app": appRole}, Databases: map[string]postgres.DatabaseInfo{"app": {Name: "app", Owner: "postgres"}}}
		r := cat.Roles["app"]
		r.Superuser = true
		cat.Roles["app"] = r
		assert.Equal(t, "altering role app as declared; giving database app to app", planned(managedFixture(pgc, cat, buildAppSecret(pgc, "pw", nil))).reason)
	})
	t.Run("a refused password is not set, and not retried", func(t *testing.T) {
		m := managedFixture(pgc, inSync, buildAppSecret(pgc, "", nil))
		assert.Equal(t, actionKind(""), planned(m).kind)
		assert.Contains(t, m.roleStatus(m.roles[0]).Message, "Secret demo-app: the password is empty")
	})
	t.Run("a failed item waits for its back-off, unless its inputs change", func(t *testing.T) {
		m := managedFixture(pgc, postgres.Catalog{Roles: map[string]postgres.RoleInfo{"app": appRole}, Databases: map[string]postgres.DatabaseInfo{}},
			buildAppSecret(pgc, "pw", nil))
		m.mem.tried(databaseKey("app"), m.databaseFP(m.databases[0]), "no space left", now.Add(-managedRetry/2))
		assert.Equal(t, actionKind(""), planned(m).kind)
		assert.Equal(t, v1alpha1.ManagedStatus{Name: "app", State: v1alpha1.StateFailed, Message: "no space left"}, m.databaseStatus(m.databases[0]))
		m.mem.tried(databaseKey("app"), m.databaseFP(m.databases[0]), "no space left", now.Add(-managedRetry))
		assert.Equal(t, actSyncManaged, planned(m).kind, "retried after the back-off")
		m.mem.tried(databaseKey("app"), "another primary", "no space left", now)
		assert.Equal(t, actSyncManaged, planned(m).kind, "retried at once with other inputs")
	})
	t.Run("no primary to talk to: Secrets only", func(t *testing.T) {
		m := managedFixture(pgc, inSync)
		m.sql, m.catalog = false, nil
		assert.Equal(t, "creating Secret demo-app with a generated password for role app", planned(m).reason)
	})
	t.Run("init scripts once the database exists, one at a time", func(t *testing.T) {
		withScripts := pgc.DeepCopy()
		withScripts.Spec.Bootstrap = &v1alpha1.BootstrapSpec{Initdb: &v1alpha1.InitdbSpec{DatabaseInitSQL: []v1alpha1.SQLRef{
			{ConfigMap: "init", Key: "a.sql"}, {Secret: "init", Key: "b.sql"}}}}
		m := managedFixture(withScripts, inSync, buildAppSecret(pgc, "pw", nil))
		i, ok := m.nextScript(withScripts, now)
		assert.True(t, ok)
		assert.Equal(t, 0, i)
		withScripts.Status.InitSQL = &v1alpha1.InitSQLStatus{Applied: 1}
		i, ok = m.nextScript(withScripts, now)
		assert.True(t, ok)
		assert.Equal(t, 1, i)
		m.mem.ran = ranScripts{uid: string(withScripts.UID), n: 2}
		_, ok = m.nextScript(withScripts, now)
		assert.False(t, ok, "the actor's memory counts until status does")
		m.mem.ran = ranScripts{}
		delete(m.catalog.Databases, "app")
		_, ok = m.nextScript(withScripts, now)
		assert.False(t, ok, "waits for the database")
	})
}

func TestManagedConditions(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1), func(p *v1alpha1.PostgresCluster) {
		p.Spec.Roles = []v1alpha1.RoleSpec{{Name: "bad", Login: true}, {Name: "etl", Login: true, PasswordSecret: &v1alpha1.LocalSecretReference{Name: "etl-pw"}}}
	})
	m := managedFixture(pgc, postgres.Catalog{Roles: map[string]postgres.RoleInfo{
		"app": {ManagedRole: postgres.ManagedRole{Name: "app", Login: true, ConnectionLimit: -1}, Verifier: verifier(t, "pw")},
		"etl": {ManagedRole: postgres.ManagedRole{Name: "etl", Login: true, ConnectionLimit: -1}},
	}, Databases: map[string]postgres.DatabaseInfo{"app": {Name: "app", Owner: "app"}}}, buildAppSecret(pgc, "pw", nil), buildRoleSecret(pgc, "bad", "x"))
	m.mem.tried(roleKey("bad"), "fp", `pq: role "nobody" does not exist`, time.Now())
	m.mem.tried("secret/etl-pw", "fp", "Secret etl-pw does not exist: create it", time.Now())
	obs := obsOf(pgc)
	obs.managed = m
	var st v1alpha1.PostgresClusterStatus
	setManagedStatus(&st, pgc, obs)
	assert.Equal(t, []v1alpha1.ManagedStatus{
		{Name: "app", State: v1alpha1.StatePresent},
		{Name: "bad", State: v1alpha1.StateFailed, Message: `pq: role "nobody" does not exist`},
		{Name: "etl", State: v1alpha1.StateFailed, Message: "Secret etl-pw does not exist: create it"},
	}, st.Roles)
	roles := findCondition(st.Conditions, v1alpha1.ConditionRolesInSync)
	require.NotNil(t, roles)
	assert.Equal(t, "False/RoleFailed", string(roles.Status)+"/"+roles.Reason)
	assert.Equal(t, `role bad: pq: role "nobody" does not exist; role etl: Secret etl-pw does not exist: create it`, roles.Message)
	dbs := findCondition(st.Conditions, v1alpha1.ConditionDatabasesInSync)
	assert.Equal(t, "True/InSync", string(dbs.Status)+"/"+dbs.Reason)
	assert.Nil(t, findCondition(st.Conditions, v1alpha1.ConditionInitSQLApplied), "no scripts, no condition")

	t.Run("a failure no longer stands once the difference is gone", func(t *testing.T) {
		m.catalog.Roles["bad"] = postgres.RoleInfo{ManagedRole: postgres.ManagedRole{Name: "bad", Login: true, ConnectionLimit: -1}, Verifier: verifier(t, "x")}
		m.passwordOK["bad"] = true
		assert.Equal(t, v1alpha1.StatePresent, m.roleStatus(m.roles[1]).State)
	})
	t.Run("without a primary, the stored report stands", func(t *testing.T) {
		m.catalog = nil
		st := v1alpha1.PostgresClusterStatus{Roles: []v1alpha1.ManagedStatus{{Name: "kept"}}}
		setManagedStatus(&st, pgc, obs)
		assert.Equal(t, []v1alpha1.ManagedStatus{{Name: "kept"}}, st.Roles)
	})
}
