//go:build integration

package cluster

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var raiseFunc = regexp.MustCompile(`(?s)\nraise_to_primary_settings\(\) \{\n.*?\n\}\n`)

// A standby whose max_connections was lowered before its primary's starts
// with the primary's last value (pg_control) instead of refusing to start;
// a value at or above it is left alone.
func TestRaiseToPrimarySettings(t *testing.T) {
	e := newSeedEnv(t)
	dir, _ := runInitSeed(t, map[string]string{"max_connections": "120"})
	pgctl := func(args ...string) {
		args = append([]string{"-D", dir, "-w", "-t", "60", "-l", filepath.Join(filepath.Dir(dir), "server.log"), "-o", "-c listen_addresses='' -c unix_socket_directories=" + filepath.Dir(dir)}, args...)
		out, err := e.command(nil, filepath.Join(e.binDir, "pg_ctl"), args...).CombinedOutput()
		require.NoError(t, err, "pg_ctl %v: %s", args, out)
	}
	pgctl("start") // pg_control records the running values
	pgctl("stop")

	conf := filepath.Join(dir, "postgresql.auto.conf")
	appendLine(t, conf, "max_connections = '50'\nmax_wal_senders = '30'\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "standby.signal"), nil, 0o600))
	require.NoError(t, os.Chown(filepath.Join(dir, "standby.signal"), e.uid, e.gid))

	fn := raiseFunc.FindString(memberScript)
	require.NotEmpty(t, fn, "raise_to_primary_settings not found in member.sh")
	script := "set -eu\numask 0077\nlog() { echo \"member test: $*\"; }\n" + fn + "raise_to_primary_settings\n"
	out, err := e.command([]string{"PGDATA=" + dir}, "/bin/sh", "-c", script).CombinedOutput()
	t.Logf("raise_to_primary_settings:\n%s", out)
	require.NoError(t, err)
	assert.Contains(t, string(out), "max_connections 50 is below 120")
	assert.Equal(t, "120", showSetting(t, dir, "max_connections"))
	assert.Equal(t, "30", showSetting(t, dir, "max_wal_senders"), "above the primary's: left alone")

	pgctl("start") // as a standby: it would refuse 50
	pgctl("stop")
}

func appendLine(t *testing.T, path, text string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
