package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var passfileFuncs = regexp.MustCompile(`(?s)\npassfile_line\(\) \{\n.*?\n\}\n.*?\nwrite_passfile\(\) \{\n.*?\n\}\n`)

// passfileScript is member.sh's password file functions, reading the
// passwords from dir instead of /etc/postgres-secrets.
func passfileScript(t *testing.T, dir string) string {
	t.Helper()
	fn := passfileFuncs.FindString(memberScript)
	require.NotEmpty(t, fn, "passfile_line and write_passfile not found in member.sh")
	return "set -eu\numask 0077\n" + strings.ReplaceAll(fn, "/etc/postgres-secrets", dir)
}

// writeMountedPasswords lays out what the credentials volume mounts.
func writeMountedPasswords(t *testing.T, dir, superuser, replication string) {
	t.Helper()
	for role, pw := range map[string]string{"superuser": superuser, "replication": replication} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, role), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, role, "password"), []byte(pw), 0o600))
	}
}

func runWritePassfile(t *testing.T, dir, passfile string) error {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", passfileScript(t, dir)+"write_passfile\n")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PASSFILE=" + passfile, "REPLICATION_USER=replicator"}
	out, err := cmd.CombinedOutput()
	assert.Empty(t, string(out), "nothing printed: no password in the log")
	return err
}

func TestWritePassfileEscapesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	passfile := filepath.Join(dir, ".pgpass")
	writeMountedPasswords(t, dir, `su: 'pw" \ x`, "repl:pw")
	require.NoError(t, runWritePassfile(t, dir, passfile))
	got, err := os.ReadFile(passfile)
	require.NoError(t, err)
	assert.Equal(t, "*:*:*:replicator:repl\\:pw\n*:*:*:postgres:su\\: 'pw\" \\\\ x\n", string(got))
	st, err := os.Stat(passfile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "libpq ignores a password file others can read")

	// A rotation reaches the file; a missing password leaves it as it was.
	writeMountedPasswords(t, dir, "su2", "r2")
	require.NoError(t, runWritePassfile(t, dir, passfile))
	got, _ = os.ReadFile(passfile)
	assert.Equal(t, "*:*:*:replicator:r2\n*:*:*:postgres:su2\n", string(got))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "superuser", "password"), nil, 0o600))
	assert.Error(t, runWritePassfile(t, dir, passfile), "an empty password is an error")
	got, _ = os.ReadFile(passfile)
	assert.Equal(t, "*:*:*:replicator:r2\n*:*:*:postgres:su2\n", string(got), "the last good file stays")
	assert.NoFileExists(t, passfile+".new")
}
