//go:build integration

package cluster

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run member.sh's init_seed with the machine's PostgreSQL
// binaries (as pkg/postgres/pgtest does): what autoConf renders must read
// back unchanged through the server's own parser, and a value the server
// refuses must be left out instead of keeping the seed from ever starting.

func TestInitSeedKeepsEveryValueAsWritten(t *testing.T) {
	values := map[string]string{
		"log_line_prefix":  `%m [%p] it's a "test" \ \n \\ \x \101 end\`,
		"application_name": `a'b''c`,
		"search_path":      `"$user", public`,
		// Line breaks are escaped: this is one value, not a second setting.
		"unix_socket_group": "tab\there\nwork_mem = '1GB'",
	}
	dir, out := runInitSeed(t, values)
	for name, want := range values {
		assert.Equal(t, want, showSetting(t, dir, name), name)
	}
	assert.NotContains(t, out, "refuses")
	assert.Equal(t, "4096", showSetting(t, dir, "work_mem"), "no setting injected")
}

func TestInitSeedLeavesOutRefusedSettings(t *testing.T) {
	dir, out := runInitSeed(t, map[string]string{
		"shared_buffers":  "banana",
		"nope_param":      "1",
		"work_mem":        "7MB",
		"max_wal_senders": "20",
	})
	assert.Contains(t, out, `left out shared_buffers = 'banana', which PostgreSQL refuses: invalid value for parameter "shared_buffers": "banana"`)
	assert.Contains(t, out, `left out nope_param = '1', which PostgreSQL refuses: unrecognized configuration parameter "nope_param"`)
	// postgres -C shows memory in the setting's unit: 8kB pages, kB.
	assert.Equal(t, "16384", showSetting(t, dir, "shared_buffers"), "PostgreSQL's default, 128MB")
	assert.Equal(t, "7168", showSetting(t, dir, "work_mem"), "the good settings are kept")
	assert.Equal(t, "20", showSetting(t, dir, "max_wal_senders"))
	conf, err := os.ReadFile(filepath.Join(dir, "postgresql.auto.conf"))
	require.NoError(t, err)
	assert.NotContains(t, string(conf), "banana")
	assert.NoFileExists(t, filepath.Join(dir, "postgresql.auto.conf.ok"))
	assert.NoFileExists(t, filepath.Join(dir, "postgresql.auto.conf.initdb"))
}

// seedEnv runs PostgreSQL binaries as the "postgres" OS user when the
// tests run as root (initdb refuses root).
type seedEnv struct {
	binDir string
	cred   *syscall.Credential
	uid    int
	gid    int
}

func newSeedEnv(t *testing.T) seedEnv {
	e := seedEnv{binDir: os.Getenv("PGTEST_BINDIR"), uid: os.Geteuid(), gid: os.Getegid()}
	if e.binDir == "" {
		e.binDir = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(e.binDir, "initdb")); err != nil {
		t.Fatalf("PostgreSQL binaries not found in %s: install postgresql-15 or set PGTEST_BINDIR", e.binDir)
	}
	if e.uid == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root needs the postgres OS user")
		e.uid, _ = strconv.Atoi(u.Uid)
		e.gid, _ = strconv.Atoi(u.Gid)
		e.cred = &syscall.Credential{Uid: uint32(e.uid), Gid: uint32(e.gid)}
	}
	return e
}

func (e seedEnv) command(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append([]string{"PATH=" + e.binDir + ":/usr/bin:/bin", "LANG=C", "LC_ALL=C"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

var (
	initSeedFunc     = regexp.MustCompile(`(?s)\ninit_seed\(\) \{\n.*?\n\}\n`)
	writeCheckedFunc = regexp.MustCompile(`(?s)\nwrite_checked_parameters\(\) \{\n.*?\n\}\n`)
	applySpecFunc    = regexp.MustCompile(`(?s)\napply_spec_parameters\(\) \{\n.*?\n\}\n`)
)

// runInitSeed runs init_seed with BOOTSTRAP_PARAMETERS rendered by autoConf
// and returns the data directory and the function's output.
func runInitSeed(t *testing.T, params map[string]string) (string, string) {
	e := newSeedEnv(t)
	root, err := os.MkdirTemp("", "init-seed")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	require.NoError(t, os.Chown(root, e.uid, e.gid))
	pwfile := filepath.Join(root, "pw")
	require.NoError(t, os.WriteFile(pwfile, []byte("secret\n"), 0o600))
	require.NoError(t, os.Chown(pwfile, e.uid, e.gid))

	fn := initSeedFunc.FindString(memberScript)
	require.NotEmpty(t, fn, "init_seed not found in member.sh")
	check := writeCheckedFunc.FindString(memberScript)
	require.NotEmpty(t, check, "write_checked_parameters not found in member.sh")
	fn = check + fn
	fn = strings.ReplaceAll(fn, "/etc/postgres-secrets/superuser/password", pwfile)
	script := "set -eu\numask 0077\nlog() { echo \"member test: $*\"; }\n" + fn + "init_seed\n"
	pgdata := filepath.Join(root, "pgdata")
	cmd := e.command([]string{"PGDATA=" + pgdata, "BOOTSTRAP_PARAMETERS=" + autoConf(params)}, "/bin/sh", "-c", script)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	t.Logf("init_seed:\n%s", out)
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(pgdata, "PG_VERSION"))
	return pgdata, string(out)
}

// showSetting is what the server reads from the configuration files.
func showSetting(t *testing.T, dir, name string) string {
	e := newSeedEnv(t)
	out, err := e.command(nil, filepath.Join(e.binDir, "postgres"), "-D", dir, "-C", name).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.TrimSuffix(string(out), "\n")
}

// apply_spec_parameters at a member's start: the spec as it is now replaces
// whatever postgresql.auto.conf held (a value that kept the server from
// starting, a setting removed from the spec), keeping what the operator
// writes there itself.
func TestApplySpecParametersAtStart(t *testing.T) {
	e := newSeedEnv(t)
	dir, _ := runInitSeed(t, map[string]string{"work_mem": "1GB", "custom.setting": "old"})
	conf := filepath.Join(dir, "postgresql.auto.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("synchronous_standby_names = 'ANY 1 (\"demo-2\")'\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	fn := writeCheckedFunc.FindString(memberScript) + applySpecFunc.FindString(memberScript)
	script := "set -eu\numask 0077\nlog() { echo \"member test: $*\"; }\n" + fn + "apply_spec_parameters\n"
	spec := autoConf(map[string]string{"work_mem": "8MB", "shared_buffers": "banana"})
	out, err := e.command([]string{"PGDATA=" + dir, "SPEC_PARAMETERS=" + spec}, "/bin/sh", "-c", script).CombinedOutput()
	t.Logf("apply_spec_parameters:\n%s", out)
	require.NoError(t, err)

	assert.Equal(t, "8192", showSetting(t, dir, "work_mem"), "the spec's value wins")
	assert.Equal(t, `ANY 1 ("demo-2")`, showSetting(t, dir, "synchronous_standby_names"), "the operator's own setting stays")
	assert.Equal(t, "16384", showSetting(t, dir, "shared_buffers"), "a refused value is left out")
	assert.Contains(t, string(out), "left out shared_buffers = 'banana'")
	data, err := os.ReadFile(conf)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "custom.setting", "a setting no longer in the spec is gone")
	assert.NoFileExists(t, conf+".keep")
	assert.NoFileExists(t, conf+".ok")
}
