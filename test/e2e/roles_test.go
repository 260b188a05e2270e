//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// oneReconcile bounds "within one reconcile pass": a Secret's change wakes
// the cluster at once; the timer runs a pass every ~10 s anyway.
const oneReconcile = 30 * time.Second

// inClusterPSQL runs psql with a connection string from inside a member
// pod, as an application in the cluster would: the pod has psql and the
// cluster's DNS, so <cluster>-rw.<ns>.svc resolves. The connection string
// (it holds a password) and the Secret's CA, if it has one, travel on
// stdin, never on a command line.
func inClusterPSQL(f *framework.Framework, ns, pod, conninfo string, ca []byte, sql string) (string, error) {
	const script = `read -r conninfo
cat > /tmp/e2e-root.crt
if [ -s /tmp/e2e-root.crt ]; then export PGSSLROOTCERT=/tmp/e2e-root.crt; fi
PGCONNECT_TIMEOUT=5 psql "$conninfo" -XAtq -v ON_ERROR_STOP=1 -c "$1"`
	r := f.Run(conninfo+"\n"+string(ca), "-n", ns, "exec", "-i", pod, "-c", "postgres", "--", "sh", "-c", script, "sh", sql)
	if r.Err != nil {
		return "", fmt.Errorf("psql in %s: %w: %s", pod, r.Err, r.Stderr)
	}
	return strings.TrimSpace(r.Stdout), nil
}

// appURIQuery runs SQL with the application Secret's uri as it is.
func appURIQuery(t *testing.T, f *framework.Framework, ns, cluster, pod, sql string) (string, error) {
	t.Helper()
	s := f.Secret(t, ns, cluster+"-app")
	return inClusterPSQL(f, ns, pod, string(s.Data["uri"]), s.Data["ca.crt"], sql)
}

// roleQuery logs in as a role with a password, through -rw, to a database.
func roleQuery(t *testing.T, f *framework.Framework, ns, cluster, pod, role, password, db, sql string) (string, error) {
	t.Helper()
	app := f.Secret(t, ns, cluster+"-app")
	u := url.URL{Scheme: "postgresql", User: url.UserPassword(role, password),
		Host: string(app.Data["host"]) + ":" + string(app.Data["port"]), Path: "/" + db}
	if mode := string(app.Data["sslmode"]); mode != "" {
		u.RawQuery = "sslmode=" + mode
	}
	return inClusterPSQL(f, ns, pod, u.String(), app.Data["ca.crt"], sql)
}

// initSQLConfigMap is a ConfigMap holding script under key init.sql, for
// kubectl apply -f - (JSON is YAML).
func initSQLConfigMap(t *testing.T, name, script string) string {
	t.Helper()
	b, err := json.Marshal(corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"init.sql": script}})
	require.NoError(t, err)
	return string(b)
}

// The application's Secret connects as it is; declared roles and
// databases appear, change and go as the spec says; a changed password
// works within a pass, with no pod restarted.
func TestRolesAndDatabasesAsDeclared(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "roles")
	f.KubectlOK(t, initSQLConfigMap(t, "init-sql",
		"SET LOCAL ROLE app;\nCREATE TABLE notes (id int primary key, body text);\nINSERT INTO notes VALUES (1, 'from databaseInitSQL');\n"),
		"-n", ns, "apply", "-f", "-")
	createReadyCluster(t, f, ns, "rl", 1, `  bootstrap:
    initdb:
      databaseInitSQL:
      - {configMap: init-sql, key: init.sql}
  roles:
  - {name: reporting, login: true, connectionLimit: 3, inRoles: [pg_read_all_data, readers]}
  - {name: readers}
  databases:
  - {name: analytics, owner: reporting, extensions: [pg_trgm]}
`)
	waitCondition(t, f, ns, "rl", v1alpha1.ConditionRolesInSync, metav1.ConditionTrue, "InSync", time.Minute)
	waitCondition(t, f, ns, "rl", v1alpha1.ConditionDatabasesInSync, metav1.ConditionTrue, "InSync", time.Minute)
	waitCondition(t, f, ns, "rl", v1alpha1.ConditionInitSQLApplied, metav1.ConditionTrue, "Applied", time.Minute)
	primary, _ := f.Roles(t, ns, "rl")
	uids := podUIDs(t, f, ns, "rl")

	// The application Secret's uri, as it is, from inside the cluster.
	app := f.Secret(t, ns, "rl-app")
	for _, k := range []string{"username", "password", "host", "port", "dbname", "uri", "jdbc-uri"} {
		assert.NotEmpty(t, app.Data[k], "key %s", k)
	}
	assert.Equal(t, "rl-rw."+ns+".svc", string(app.Data["host"]))
	assert.True(t, strings.HasPrefix(string(app.Data["jdbc-uri"]), "jdbc:postgresql://rl-rw."+ns+".svc:5432/app?"))
	out, err := appURIQuery(t, f, ns, "rl", primary, "select current_user || ' ' || current_database() || ' ' || (select body from notes)")
	require.NoError(t, err)
	assert.Equal(t, "app app from databaseInitSQL", out, "the init script ran in the application database, once")
	assert.Equal(t, int32(1), f.Cluster(t, ns, "rl").Status.InitSQL.Applied)

	// Declared roles and databases, as declared.
	assert.Equal(t, "t|3|t|t", f.PSQLLocal(t, ns, primary, `select rolcanlogin, rolconnlimit,
		pg_has_role('reporting', 'pg_read_all_data', 'member'), pg_has_role('reporting', 'readers', 'member')
		from pg_roles where rolname = 'reporting'`))
	assert.Equal(t, "f", f.PSQLLocal(t, ns, primary, "select rolcanlogin from pg_roles where rolname = 'readers'"))
	reportingPW := string(f.Secret(t, ns, "rl-role-reporting").Data["password"])
	out, err = roleQuery(t, f, ns, "rl", primary, "reporting", reportingPW, "analytics",
		"select current_database() || ' ' || pg_get_userbyid(datdba) || ' ' || (select string_agg(extname, ',' order by extname) from pg_extension) from pg_database where datname = current_database()")
	require.NoError(t, err)
	assert.Equal(t, "analytics reporting pg_trgm,plpgsql", out)

	// Changed as declared: a membership revoked, the limit raised, a database added.
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "rl", "--type=json", "-p", `[
		{"op":"replace","path":"/spec/roles/0/connectionLimit","value":5},
		{"op":"replace","path":"/spec/roles/0/inRoles","value":["pg_read_all_data"]},
		{"op":"add","path":"/spec/databases/-","value":{"name":"scratch","owner":"reporting"}}]`)
	framework.Eventually(t, time.Minute, "the role and databases changed", func() (bool, error) {
		got, err := psqlLocalErr(f, ns, primary, `select rolconnlimit || ' ' || pg_has_role('reporting', 'readers', 'member')::int
			|| ' ' || (select count(*) from pg_database where datname = 'scratch') from pg_roles where rolname = 'reporting'`)
		return got == "5 0 1", framework.Errorf("got %q, err %v", got, err)
	})

	// Rotation: the role's and the application's Secrets, one pass each.
	f.KubectlOK(t, "", "-n", ns, "patch", "secret", "rl-role-reporting", "--type=merge", "-p", `{"stringData":{"password":"Reporting-2nd"}}`)
	framework.Eventually(t, oneReconcile, "the role's new password", func() (bool, error) {
		_, err := roleQuery(t, f, ns, "rl", primary, "reporting", "Reporting-2nd", "analytics", "select 1")
		return err == nil, err
	})
	_, err = roleQuery(t, f, ns, "rl", primary, "reporting", reportingPW, "analytics", "select 1")
	assert.Error(t, err, "the old password no longer works")
	f.KubectlOK(t, "", "-n", ns, "patch", "secret", "rl-app", "--type=merge", "-p", `{"stringData":{"password":"App-2nd:p@ss/word"}}`)
	framework.Eventually(t, oneReconcile, "the new application password, in the uri too", func() (bool, error) {
		_, err := appURIQuery(t, f, ns, "rl", primary, "select 1")
		uri, perr := url.Parse(string(f.Secret(t, ns, "rl-app").Data["uri"]))
		if perr != nil {
			return false, perr
		}
		pw, _ := uri.User.Password()
		return err == nil && pw == "App-2nd:p@ss/word", framework.Errorf("uri password %q, psql %v", pw, err)
	})
	assert.Equal(t, uids, podUIDs(t, f, ns, "rl"), "no pod was restarted")
	f.WaitReady(t, ns, "rl", time.Minute)

	// Gone as declared, but never a database with data unless asked.
	_, err = roleQuery(t, f, ns, "rl", primary, "reporting", "Reporting-2nd", "analytics", "create table facts (id int)")
	require.NoError(t, err)
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "rl", "--type=json", "-p", `[
		{"op":"add","path":"/spec/databases/0/ensure","value":"absent"},
		{"op":"add","path":"/spec/databases/1/ensure","value":"absent"},
		{"op":"add","path":"/spec/roles/1/ensure","value":"absent"},
		{"op":"remove","path":"/spec/roles/0/inRoles"}]`)
	c := waitCondition(t, f, ns, "rl", v1alpha1.ConditionDatabasesInSync, metav1.ConditionFalse, "DatabaseFailed", time.Minute)
	assert.Contains(t, c.Message, "database analytics")
	assert.Contains(t, c.Message, "reclaim: delete")
	assert.Len(t, clusterEvents(t, f, ns, "rl", "DatabaseFailed"), 1, "one Warning Event")
	framework.Eventually(t, time.Minute, "the empty database and the role gone, the other database kept", func() (bool, error) {
		got, err := psqlLocalErr(f, ns, primary, `select (select count(*) from pg_database where datname = 'scratch') || ' ' ||
			(select count(*) from pg_roles where rolname = 'readers') || ' ' || (select count(*) from pg_database where datname = 'analytics')`)
		return got == "0 0 1", framework.Errorf("got %q, err %v", got, err)
	})
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "rl", "--type=json", "-p", `[{"op":"add","path":"/spec/databases/0/reclaim","value":"delete"}]`)
	waitCondition(t, f, ns, "rl", v1alpha1.ConditionDatabasesInSync, metav1.ConditionTrue, "InSync", time.Minute)
	assert.Equal(t, "0", f.PSQLLocal(t, ns, primary, "select count(*) from pg_database where datname = 'analytics'"))
	f.WaitReady(t, ns, "rl", time.Minute)
}

// A wrong databaseInitSQL is reported (condition, one Warning Event),
// changes nothing, and wedges nothing: the cluster is Ready, other
// changes apply, and the fixed script runs.
func TestWrongDatabaseInitSQL(t *testing.T) {
	f := setupWaiting(t)
	ns := f.Namespace(t, "bad-init")
	f.KubectlOK(t, initSQLConfigMap(t, "init-sql", "CREATE TABLE half (id int);\nSELEC 1;\n"), "-n", ns, "apply", "-f", "-")
	createReadyCluster(t, f, ns, "bi", 1, `  bootstrap:
    initdb:
      databaseInitSQL:
      - {configMap: init-sql, key: init.sql}
`)
	c := waitCondition(t, f, ns, "bi", v1alpha1.ConditionInitSQLApplied, metav1.ConditionFalse, "InitSQLFailed", time.Minute)
	assert.Contains(t, c.Message, "databaseInitSQL[0] (ConfigMap init-sql, key init.sql)")
	assert.Contains(t, c.Message, "line 2")
	assert.Contains(t, c.Message, "syntax error")
	assert.Len(t, clusterEvents(t, f, ns, "bi", "InitSQLFailed"), 1, "one Warning Event")
	primary, _ := f.Roles(t, ns, "bi")
	out, err := appURIQuery(t, f, ns, "bi", primary, "select to_regclass('half') is null")
	require.NoError(t, err)
	assert.Equal(t, "t", out, "rolled back whole")
	f.WaitReady(t, ns, "bi", time.Minute)

	// Other changes still apply.
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "bi", "--type=merge", "-p",
		`{"spec":{"parameters":{"work_mem":"8MB"},"roles":[{"name":"late","login":true}]}}`)
	framework.Eventually(t, time.Minute, "the parameter and the role applied", func() (bool, error) {
		got, err := psqlLocalErr(f, ns, primary, "select current_setting('work_mem') || ' ' || (select count(*) from pg_roles where rolname = 'late')")
		return got == "8MB 1", framework.Errorf("got %q, err %v", got, err)
	})
	f.WaitReady(t, ns, "bi", time.Minute)
	assert.Len(t, clusterEvents(t, f, ns, "bi", "InitSQLFailed"), 1, "still one Warning Event")

	// Fixed: the script runs on the next pass (a pass every 10 s here),
	// not a minute after the failure.
	f.KubectlOK(t, initSQLConfigMap(t, "init-sql", "CREATE TABLE half (id int);\nSELECT 1;\n"), "-n", ns, "apply", "-f", "-")
	waitCondition(t, f, ns, "bi", v1alpha1.ConditionInitSQLApplied, metav1.ConditionTrue, "Applied", 30*time.Second)
	out, err = appURIQuery(t, f, ns, "bi", primary, "select to_regclass('half') is not null")
	require.NoError(t, err)
	assert.Equal(t, "t", out)
	f.WaitReady(t, ns, "bi", time.Minute)
}

// psqlLocalErr is PSQLLocal for polling loops.
func psqlLocalErr(f *framework.Framework, ns, pod, sql string) (string, error) {
	r := f.Run("", "-n", ns, "exec", pod, "-c", "postgres", "--",
		"psql", "-h", "/var/run/postgresql", "-U", "postgres", "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql)
	if r.Err != nil {
		return "", fmt.Errorf("%w: %s", r.Err, r.Stderr)
	}
	return strings.TrimSpace(r.Stdout), nil
}
