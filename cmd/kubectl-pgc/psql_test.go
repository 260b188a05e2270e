package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// password has the characters the passfile format must escape.
const password = `s3cr:et\pw`

func psqlObjects() []runtime.Object {
	svc := func(name, ip string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "db"},
			Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: []corev1.ServicePort{{Name: "postgres", Port: 5432}}}}
	}
	return []runtime.Object{
		svc("demo-rw", "10.96.0.10"), svc("demo-ro", "10.96.0.11"),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "demo-superuser", Namespace: "db"}, Data: map[string][]byte{"password": []byte(password)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "demo-client-tls", Namespace: "db"},
			Data: map[string][]byte{"ca.crt": []byte("CA"), "tls.crt": []byte("CERT"), "tls.key": []byte("KEY")}},
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "demo-2", Namespace: "db", Labels: map[string]string{"postgres-operator.dev/cluster": "demo"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "postgres", Ports: []corev1.ContainerPort{{Name: "postgres", ContainerPort: 5432}}}}},
			Status:     corev1.PodStatus{PodIP: "10.244.0.7"},
		},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stranger", Namespace: "db"}, Status: corev1.PodStatus{PodIP: "10.244.0.9"}},
	}
}

// ranPsql is what the fake runner saw while psql "ran".
type ranPsql struct {
	args, env []string
	passfile  string
	contents  string
	mode      os.FileMode
}

// capturePsql replaces the runner: it records the command and reads the
// passfile while it exists, as psql would.
func capturePsql(t *testing.T, e *testEnv) *ranPsql {
	ran := &ranPsql{}
	e.a.run = func(c *exec.Cmd) error {
		ran.args, ran.env = c.Args, c.Env
		for _, kv := range c.Env {
			if v, ok := strings.CutPrefix(kv, "PGPASSFILE="); ok {
				ran.passfile = v
			}
		}
		st, err := os.Stat(ran.passfile)
		require.NoError(t, err)
		ran.mode = st.Mode().Perm()
		b, err := os.ReadFile(ran.passfile)
		require.NoError(t, err)
		ran.contents = string(b)
		return nil
	}
	return ran
}

func TestPsqlTargets(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		host     string
		certName string
		psqlArgs []string
	}{
		{"default is the primary's Service", []string{"psql", "demo"}, "10.96.0.10", "demo-rw.db.svc", nil},
		{"-rw", []string{"psql", "demo", "-rw", "--", "-Atc", "select 1"}, "10.96.0.10", "demo-rw.db.svc", []string{"-Atc", "select 1"}},
		{"-ro", []string{"psql", "demo", "-ro"}, "10.96.0.11", "demo-ro.db.svc", nil},
		{"--ro", []string{"psql", "demo", "--ro"}, "10.96.0.11", "demo-ro.db.svc", nil},
		{"a member", []string{"psql", "demo", "demo-2", "--", "-c", "select pg_is_in_recovery()"}, "10.244.0.7", "demo-rw.db.svc", []string{"-c", "select pg_is_in_recovery()"}},
		{"psql's own -rw after --", []string{"psql", "demo", "--", "-ro"}, "10.96.0.10", "demo-rw.db.svc", []string{"-ro"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PGPASSWORD", "inherited") // libpq would prefer it to the passfile
			e := newTestEnv(t, []runtime.Object{demo()}, psqlObjects()...)
			ran := capturePsql(t, e)
			require.NoError(t, e.exec(tc.args...))

			want := append([]string{"/usr/bin/psql", "-h", tc.certName, "-p", "5432", "-U", "postgres", "-d", "postgres"}, tc.psqlArgs...)
			assert.Equal(t, want, ran.args)
			assert.Contains(t, ran.env, "PGSSLMODE=verify-full")
			assert.Contains(t, ran.env, "PGHOSTADDR="+tc.host)
			for _, s := range append(ran.args, ran.env...) {
				assert.NotContains(t, s, "s3cr", "the password is in neither the arguments nor the environment")
				assert.NotContains(t, s, "inherited", "an inherited PGPASSWORD is dropped")
			}
			assert.Equal(t, tc.certName+`:5432:*:*:s3cr\:et\\pw`+"\n", ran.contents)
			assert.Equal(t, os.FileMode(0o600), ran.mode)
			_, err := os.Stat(ran.passfile)
			assert.True(t, errors.Is(err, os.ErrNotExist), "the passfile is removed once psql exits")
		})
	}
}

// psql's failure is the plugin's failure, and the passfile still goes.
func TestPsqlFailureRemovesThePassfile(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()}, psqlObjects()...)
	ran := capturePsql(t, e)
	run := e.a.run
	e.a.run = func(c *exec.Cmd) error { _ = run(c); return errors.New("exit status 2") }
	require.EqualError(t, e.exec("psql", "demo"), "exit status 2")
	_, err := os.Stat(ran.passfile)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

func TestPsqlRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"two targets", []string{"psql", "demo", "-rw", "-ro"}, "give one of MEMBER, -rw and -ro"},
		{"member and service", []string{"psql", "demo", "demo-2", "-ro"}, "give one of MEMBER, -rw and -ro"},
		{"not a member", []string{"psql", "demo", "stranger"}, "pod stranger is not a member of demo"},
		{"too many", []string{"psql", "demo", "demo-1", "demo-2"}, "want CLUSTER and at most one MEMBER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, []runtime.Object{demo()}, psqlObjects()...)
			err := e.exec(tc.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPsqlNotOnPath(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()}, psqlObjects()...)
	e.a.lookPath = func(string) (string, error) { return "", exec.ErrNotFound }
	err := e.exec("psql", "demo")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "psql is not on PATH")
}

func TestNormalizeArgs(t *testing.T) {
	assert.Equal(t, []string{"psql", "demo", "--rw", "--", "-rw", "-ro"}, normalizeArgs([]string{"psql", "demo", "-rw", "--", "-rw", "-ro"}))
	assert.Equal(t, []string{"psql", "demo", "--ro"}, normalizeArgs([]string{"psql", "demo", "-ro"}))
}

// A failing psql's exit status becomes the plugin's.
func TestExitCodePassesPsqlThrough(t *testing.T) {
	err := exec.Command("sh", "-c", "exit 3").Run()
	assert.Equal(t, 3, exitCode(err))
}
