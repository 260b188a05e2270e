package cluster

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

// managedWorld is a running one-member cluster (the world's: the
// application's owner, database and Secret in place) with a fake clock
// and a recorder that keeps the Events.
type managedWorld struct {
	*world
	clock *testingclock.FakeClock
	rec   *record.FakeRecorder
}

func newManagedWorld(t *testing.T, mutate ...func(*v1alpha1.PostgresCluster)) *managedWorld {
	pgc := testCluster(1, append([]func(*v1alpha1.PostgresCluster){initialized("demo-1", 1)}, mutate...)...)
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)))
	clock := testingclock.NewFakeClock(time.Now())
	w.c.cfg.Clock = clock
	mw := &managedWorld{world: w, clock: clock, rec: recordEvents(w)}
	mw.settle()
	return mw
}

// settle runs passes until the cluster has converged and nothing
// declared is pending (a Secret just created may take the cache a moment).
func (w *managedWorld) settle() {
	w.t.Helper()
	for i := 0; ; i++ {
		require.Less(w.t, i, 20, "never converged: %v", w.current().Status.Conditions)
		w.pass()
		if converged(w.current()) && !w.pending() {
			return
		}
	}
}

// waitListerCurrent waits until the cluster lister has the stored object.
func (w *managedWorld) waitListerCurrent() {
	w.t.Helper()
	require.Eventually(w.t, func() bool {
		pgc, err := w.c.cfg.Listers.Clusters.PostgresClusters(w.key.Namespace).Get(w.key.Name)
		return err == nil && pgc.ResourceVersion == w.current().ResourceVersion
	}, 5*time.Second, time.Millisecond, "the cluster lister catches up")
}

func (w *managedWorld) pending() bool {
	for _, c := range w.current().Status.Conditions {
		if c.Reason == reasonManagedPending {
			return true
		}
	}
	return false
}

// update changes the spec as kubectl would (a new generation).
func (w *managedWorld) update(mutate func(*v1alpha1.PostgresCluster)) {
	w.t.Helper()
	pgc := w.current()
	mutate(pgc)
	pgc.Generation++
	_, err := w.pg.PostgresV1alpha1().PostgresClusters("ns").Update(w.ctx, pgc, metav1.UpdateOptions{})
	require.NoError(w.t, err)
}

func (w *managedWorld) server() dbfake.Server { return w.db.Server(memberIP(1)) }

func (w *managedWorld) secret(name string) *corev1.Secret {
	w.t.Helper()
	s, err := w.kube.CoreV1().Secrets("ns").Get(w.ctx, name, metav1.GetOptions{})
	require.NoError(w.t, err)
	return s
}

// setPassword edits a Secret's password key and waits for the cache.
func (w *managedWorld) setPassword(name, pw string) {
	w.t.Helper()
	s := w.secret(name)
	s.Data[passwordKey] = []byte(pw)
	_, err := w.kube.CoreV1().Secrets("ns").Update(w.ctx, s, metav1.UpdateOptions{})
	require.NoError(w.t, err)
	require.Eventually(w.t, func() bool {
		cached, err := w.c.cfg.Listers.Secrets.Secrets("ns").Get(name)
		return err == nil && string(cached.Data[passwordKey]) == pw
	}, 5*time.Second, time.Millisecond)
}

func (w *managedWorld) conditionOf(t string) string {
	c := findCondition(w.current().Status.Conditions, t)
	if c == nil {
		return ""
	}
	return string(c.Status) + "/" + c.Reason
}

func (w *managedWorld) callsTo(method string) int { return len(w.db.CallsTo(method)) }

func TestNewClusterGetsItsApplicationDatabase(t *testing.T) {
	f := newActorFixture(t, testCluster(1))
	f.passUntil("seed pod created", f.exists(func() error {
		_, err := f.kube.CoreV1().Pods("ns").Get(f.ctx, "demo-1", metav1.GetOptions{})
		return err
	}))
	f.runPod("demo-1", "10.0.0.1", dbfake.Server{Status: postgres.Status{Timeline: 1}})
	f.passUntil("the application's database", func() bool {
		return condition(f.current(), v1alpha1.ConditionDatabasesInSync) == metav1.ConditionTrue &&
			condition(f.current(), v1alpha1.ConditionRolesInSync) == metav1.ConditionTrue
	})
	s, err := f.kube.CoreV1().Secrets("ns").Get(f.ctx, "demo-app", metav1.GetOptions{})
	require.NoError(t, err)
	pw := string(s.Data["password"])
	assert.Len(t, pw, 43, "32 random bytes, base64url")
	assert.Equal(t, "demo", s.OwnerReferences[0].Name)
	uri, err := url.Parse(string(s.Data["uri"]))
	require.NoError(t, err)
	assert.Equal(t, "app", uri.User.Username())

	srv := f.db.Server("10.0.0.1")
	assert.Equal(t, dbfake.Role{Login: true, ConnectionLimit: -1, Password: pw}, srv.Roles["app"])
	assert.Equal(t, dbfake.Database{Owner: "app"}, srv.Databases["app"])
	assert.Equal(t, []v1alpha1.ManagedStatus{{Name: "app", State: v1alpha1.StatePresent}}, f.current().Status.Roles)
	assert.Equal(t, []v1alpha1.ManagedStatus{{Name: "app", State: v1alpha1.StatePresent}}, f.current().Status.Databases)
	f.passUntil("running", func() bool { return f.current().Status.Phase == v1alpha1.PhaseRunning })
}

func TestDeclaredRolesAndDatabasesFollowTheSpec(t *testing.T) {
	w := newManagedWorld(t)
	w.update(func(p *v1alpha1.PostgresCluster) {
		p.Spec.Roles = []v1alpha1.RoleSpec{
			{Name: "reporting", Login: true, ConnectionLimit: int32p(5), InRoles: []string{"readers", "pg_read_all_data"}},
			{Name: "readers"},
		}
		p.Spec.Databases = []v1alpha1.DatabaseSpec{{Name: "analytics", Owner: "reporting", Extensions: []string{"pg_trgm"}}}
	})
	w.settle()
	srv := w.server()
	pw := string(w.secret("demo-role-reporting").Data[passwordKey])
	assert.Equal(t, dbfake.Role{Login: true, ConnectionLimit: 5, InRoles: []string{"pg_read_all_data", "readers"}, Password: pw}, srv.Roles["reporting"])
	assert.Equal(t, dbfake.Role{ConnectionLimit: -1}, srv.Roles["readers"])
	assert.Equal(t, dbfake.Database{Owner: "reporting", Extensions: []string{"pg_trgm"}}, srv.Databases["analytics"])
	assert.Equal(t, "True/InSync", w.conditionOf(v1alpha1.ConditionRolesInSync))
	assert.Equal(t, "True/InSync", w.conditionOf(v1alpha1.ConditionDatabasesInSync))
	assert.Equal(t, v1alpha1.PhaseRunning, w.current().Status.Phase)

	// Changed: a membership goes, the limit changes.
	w.update(func(p *v1alpha1.PostgresCluster) {
		p.Spec.Roles[0].InRoles = []string{"pg_read_all_data"}
		p.Spec.Roles[0].ConnectionLimit = int32p(10)
	})
	w.settle()
	assert.Equal(t, []string{"pg_read_all_data"}, w.server().Roles["reporting"].InRoles)
	assert.Equal(t, int32(10), w.server().Roles["reporting"].ConnectionLimit)

	// A database with tables is kept until reclaim: delete says otherwise.
	w.db.Update(memberIP(1), func(s *dbfake.Server) {
		d := s.Databases["analytics"]
		d.Tables = 3
		s.Databases["analytics"] = d
	})
	w.update(func(p *v1alpha1.PostgresCluster) { p.Spec.Databases[0].Ensure = v1alpha1.EnsureAbsent })
	w.settle()
	assert.Contains(t, w.server().Databases, "analytics")
	assert.Equal(t, "False/DatabaseFailed", w.conditionOf(v1alpha1.ConditionDatabasesInSync))
	assert.Equal(t, 1, warnings(w.rec, reasonDatabaseFailed))
	w.update(func(p *v1alpha1.PostgresCluster) { p.Spec.Databases[0].Reclaim = v1alpha1.ReclaimDelete })
	w.settle()
	assert.NotContains(t, w.server().Databases, "analytics")
	assert.Equal(t, "True/InSync", w.conditionOf(v1alpha1.ConditionDatabasesInSync))
	assert.Contains(t, w.current().Status.Databases, v1alpha1.ManagedStatus{Name: "analytics", State: v1alpha1.StateAbsent})

	// Gone as declared; removed from the list, left alone.
	w.update(func(p *v1alpha1.PostgresCluster) {
		p.Spec.Roles[0].Ensure = v1alpha1.EnsureAbsent
		p.Spec.Roles = p.Spec.Roles[:1]
	})
	w.settle()
	assert.NotContains(t, w.server().Roles, "reporting")
	assert.Contains(t, w.server().Roles, "readers")
}

// A role that cannot be made is reported once and retried after the
// back-off; the rest of the spec (another role, a parameter) still goes.
func TestFailingRoleBlocksNothing(t *testing.T) {
	w := newManagedWorld(t)
	w.db.Update(memberIP(1), func(s *dbfake.Server) {
		s.Errors = map[string]error{"EnsureManagedRole bad": errors.New("permission denied to create role")}
	})
	w.update(func(p *v1alpha1.PostgresCluster) {
		p.Spec.Roles = []v1alpha1.RoleSpec{{Name: "bad"}, {Name: "good"}}
		p.Spec.Parameters = map[string]string{"work_mem": "8MB"}
	})
	w.settle()
	assert.Contains(t, w.server().Roles, "good")
	assert.Equal(t, "8MB", w.server().Parameters["work_mem"], "the parameter change went on")
	assert.Equal(t, "False/RoleFailed", w.conditionOf(v1alpha1.ConditionRolesInSync))
	assert.Contains(t, w.current().Status.Roles, v1alpha1.ManagedStatus{Name: "bad", State: v1alpha1.StateFailed, Message: "permission denied to create role"})
	assert.Equal(t, "True/AllMembersReady", w.conditionOf(v1alpha1.ConditionReady))
	assert.Equal(t, 1, warnings(w.rec, reasonRoleFailed))

	tries := len(w.db.CallsTo("EnsureManagedRole"))
	for range 5 {
		w.pass()
	}
	assert.Len(t, w.db.CallsTo("EnsureManagedRole"), tries, "no retry before the back-off")
	assert.Zero(t, warnings(w.rec, reasonRoleFailed), "said once")

	w.db.Update(memberIP(1), func(s *dbfake.Server) { s.Errors = nil })
	w.clock.Step(managedRetry)
	w.settle()
	assert.Contains(t, w.server().Roles, "bad")
	assert.Equal(t, "True/InSync", w.conditionOf(v1alpha1.ConditionRolesInSync))
}

func TestEditedPasswordsReachTheRolesInOnePass(t *testing.T) {
	w := newManagedWorld(t, func(p *v1alpha1.PostgresCluster) {
		p.Spec.Roles = []v1alpha1.RoleSpec{{Name: "etl", Login: true, PasswordSecret: &v1alpha1.LocalSecretReference{Name: "etl-pw"}}}
	})
	assert.Equal(t, "False/RoleFailed", w.conditionOf(v1alpha1.ConditionRolesInSync), "its Secret is missing")
	assert.Contains(t, findCondition(w.current().Status.Conditions, v1alpha1.ConditionRolesInSync).Message, "Secret etl-pw does not exist")
	assert.Contains(t, w.server().Roles, "etl", "the role is made all the same")
	assert.Equal(t, 1, warnings(w.rec, reasonRoleFailed))

	_, err := w.kube.CoreV1().Secrets("ns").Create(w.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "etl-pw", Namespace: "ns"},
		Data: map[string][]byte{passwordKey: []byte("first")}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := w.c.cfg.Listers.Secrets.Secrets("ns").Get("etl-pw")
		return err == nil
	}, 5*time.Second, time.Millisecond)
	w.pass()
	assert.Equal(t, "first", w.server().Roles["etl"].Password, "one pass")
	w.settle()

	w.setPassword("etl-pw", "second")
	w.pass()
	assert.Equal(t, "second", w.server().Roles["etl"].Password, "one pass")

	w.setPassword("demo-app", "rotated")
	w.pass()
	assert.Equal(t, "rotated", w.server().Roles["app"].Password, "one pass")
	uri, err := url.Parse(string(w.secret("demo-app").Data["uri"]))
	require.NoError(t, err)
	got, _ := uri.User.Password()
	assert.Equal(t, "rotated", got, "the uri follows")
	assert.Contains(t, string(w.secret("demo-app").Data["jdbc-uri"]), "password=rotated")
	assert.Zero(t, w.callsTo("SetPassword"), "passwords go with the role's attributes, in one statement")
	assert.Equal(t, "True/InSync", w.conditionOf(v1alpha1.ConditionPasswordsInSync), "the operator's own roles are untouched")

	w.setPassword("demo-app", "")
	w.settle()
	assert.Equal(t, "rotated", w.server().Roles["app"].Password, "an empty password is refused")
	assert.Equal(t, "False/RoleFailed", w.conditionOf(v1alpha1.ConditionRolesInSync))
	assert.Equal(t, 1, warnings(w.rec, reasonRoleFailed))
}

// The steady state reads the catalog once a catalogRecheck, writes
// nothing, and puts back what was changed by hand.
func TestDeclaredStateIsCheckedCheaplyAndRestored(t *testing.T) {
	w := newManagedWorld(t, func(p *v1alpha1.PostgresCluster) {
		p.Spec.Roles = []v1alpha1.RoleSpec{{Name: "reporting", Login: true}}
	})
	w.log.reset()
	reads := w.callsTo("ReadCatalog")
	for range 5 {
		w.listerPass()
	}
	assert.Empty(t, w.log.writes())
	assert.Equal(t, reads, w.callsTo("ReadCatalog"), "verified: not read again")

	w.db.Update(memberIP(1), func(s *dbfake.Server) {
		r := s.Roles["reporting"]
		r.Superuser, r.ConnectionLimit = true, 1
		s.Roles["reporting"] = r
	})
	w.clock.Step(catalogRecheck)
	w.settle()
	// Read, corrected, read again. How many passes settle takes depends on
	// how soon the fake informer delivers the status the correction wrote
	// (on a loaded CI it ran 18 passes, each reading), so the count is
	// checked once the cache has caught up: trusted again, not read.
	got := w.callsTo("ReadCatalog")
	assert.GreaterOrEqual(t, got, reads+2, "read, corrected, read again")
	w.waitListerCurrent()
	for range 5 {
		w.listerPass()
	}
	assert.Equal(t, got, w.callsTo("ReadCatalog"), "verified after the correction: not read again")
	r := w.server().Roles["reporting"]
	assert.False(t, r.Superuser)
	assert.Equal(t, int32(-1), r.ConnectionLimit)
}

// newInitSQLWorld is a one-member cluster whose databaseInitSQL runs the
// keys of ConfigMap init, in order, and whose primary refuses every script
// with runErr.
func newInitSQLWorld(t *testing.T, scripts map[string]string, keys []string, runErr string) (*managedWorld, *corev1.ConfigMap) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "init", Namespace: "ns"}, Data: scripts}
	pgc := testCluster(1, initialized("demo-1", 1), func(p *v1alpha1.PostgresCluster) {
		p.Spec.Bootstrap = &v1alpha1.BootstrapSpec{Initdb: &v1alpha1.InitdbSpec{}}
		for _, k := range keys {
			p.Spec.Bootstrap.Initdb.DatabaseInitSQL = append(p.Spec.Bootstrap.Initdb.DatabaseInitSQL, v1alpha1.SQLRef{ConfigMap: "init", Key: k})
		}
	})
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)))
	clock := testingclock.NewFakeClock(time.Now())
	w.c.cfg.Clock = clock
	mw := &managedWorld{world: w, clock: clock, rec: recordEvents(w)}
	w.db.Update(memberIP(1), func(s *dbfake.Server) {
		s.Errors = map[string]error{"RunScript": errors.New(runErr)}
	})
	_, err := w.kube.CoreV1().ConfigMaps("ns").Create(w.ctx, cm, metav1.CreateOptions{})
	require.NoError(t, err)
	return mw, cm
}

func TestInitSQLRunsOnceAndAFailureWedgesNothing(t *testing.T) {
	mw, _ := newInitSQLWorld(t, map[string]string{"a.sql": "CREATE TABLE a ()", "b.sql": "CREATE TABLE b ()"},
		[]string{"a.sql", "b.sql"}, `line 1: pq: relation "x" does not exist`)
	w := mw.world
	clock := mw.clock

	mw.settle()
	assert.Equal(t, "False/InitSQLFailed", mw.conditionOf(v1alpha1.ConditionInitSQLApplied))
	msg := findCondition(w.current().Status.Conditions, v1alpha1.ConditionInitSQLApplied).Message
	assert.Contains(t, msg, "databaseInitSQL[0] (ConfigMap init, key a.sql)")
	assert.Contains(t, msg, `relation "x" does not exist`)
	assert.Equal(t, 1, warnings(mw.rec, reasonScriptFailed))
	assert.Equal(t, "True/AllMembersReady", mw.conditionOf(v1alpha1.ConditionReady), "the cluster is not wedged")

	mw.update(func(p *v1alpha1.PostgresCluster) { p.Spec.Parameters = map[string]string{"work_mem": "8MB"} })
	mw.settle()
	assert.Equal(t, "8MB", mw.server().Parameters["work_mem"], "other changes still apply")
	assert.Zero(t, warnings(mw.rec, reasonScriptFailed), "said once")

	w.db.Update(memberIP(1), func(s *dbfake.Server) { s.Errors = nil })
	clock.Step(managedRetry)
	mw.settle()
	assert.Equal(t, []string{"CREATE TABLE a ()", "CREATE TABLE b ()"}, mw.server().Scripts, "in order")
	assert.Equal(t, "True/Applied", mw.conditionOf(v1alpha1.ConditionInitSQLApplied))
	assert.Equal(t, &v1alpha1.InitSQLStatus{Applied: 2}, w.current().Status.InitSQL)

	clock.Step(10 * managedRetry)
	for range 3 {
		w.pass()
	}
	assert.Len(t, mw.server().Scripts, 2, "once")
}

func TestFixedInitSQLRunsOnTheNextPass(t *testing.T) {
	mw, scripts := newInitSQLWorld(t, map[string]string{"a.sql": "SELEC 1"}, []string{"a.sql"},
		`line 1: pq: syntax error at or near "SELEC"`)
	w := mw.world
	mw.settle()
	require.Equal(t, "False/InitSQLFailed", mw.conditionOf(v1alpha1.ConditionInitSQLApplied))
	msg := findCondition(w.current().Status.Conditions, v1alpha1.ConditionInitSQLApplied).Message
	assert.Contains(t, msg, "once its ConfigMap changes, or within a minute")

	// Unchanged text: not tried again before managedRetry, however many passes.
	tries := mw.callsTo("RunScript")
	for range 5 {
		w.pass()
	}
	assert.Equal(t, tries, mw.callsTo("RunScript"), "the same text is not run again on every pass")

	// Fixed: the next pass runs it, well within managedRetry.
	w.db.Update(memberIP(1), func(s *dbfake.Server) { s.Errors = nil })
	scripts.Data["a.sql"] = "SELECT 1"
	_, err := w.kube.CoreV1().ConfigMaps("ns").Update(w.ctx, scripts, metav1.UpdateOptions{})
	require.NoError(t, err)
	mw.settle()
	assert.Equal(t, []string{"SELECT 1"}, mw.server().Scripts)
	assert.Equal(t, "True/Applied", mw.conditionOf(v1alpha1.ConditionInitSQLApplied))
}

func TestGeneratedSecretOfAnotherClusterIsNeverUsed(t *testing.T) {
	other := testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Name = "demo-role" })
	w := newManagedWorld(t)
	_, err := w.kube.CoreV1().Secrets("ns").Create(w.ctx, buildSuperuserSecret(other, "theirs"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := w.c.cfg.Listers.Secrets.Secrets("ns").Get("demo-role-superuser")
		return err == nil
	}, 5*time.Second, time.Millisecond)
	w.update(func(p *v1alpha1.PostgresCluster) {
		p.Spec.Roles = []v1alpha1.RoleSpec{{Name: "superuser", Login: true}}
	})
	w.settle()
	assert.Empty(t, w.server().Roles["superuser"].Password)
	assert.Equal(t, "theirs", string(w.secret("demo-role-superuser").Data[passwordKey]), "untouched")
	assert.Contains(t, findCondition(w.current().Status.Conditions, v1alpha1.ConditionRolesInSync).Message,
		"Secret demo-role-superuser belongs to cluster demo-role")
}

func TestUnlabelledSecretIsLabelledToBeWatched(t *testing.T) {
	w := newManagedWorld(t)
	_, err := w.kube.CoreV1().Secrets("ns").Create(w.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: "ns"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	pgc := w.current()
	did, problem, err := w.c.adoptSecret(w.ctx, pgc, secretWork{name: "mine", what: "adopt", role: "etl"})
	require.NoError(t, err)
	assert.Empty(t, problem)
	assert.True(t, strings.HasPrefix(did, "labelled Secret mine"), did)
	assert.Equal(t, "demo", w.secret("mine").Labels[ClusterLabel])

	_, problem, err = w.c.adoptSecret(w.ctx, pgc, secretWork{name: "missing", what: "adopt", role: "etl"})
	require.NoError(t, err)
	assert.Equal(t, `Secret missing does not exist: create it with the password of role etl in key "password"`, problem)
}
