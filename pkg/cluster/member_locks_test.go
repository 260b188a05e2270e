package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var clearStaleLocksFunc = regexp.MustCompile(`(?s)\nclear_stale_locks\(\) \{\n.*?\n\}\n`)

// startProcess runs a sleep whose command name is name (what
// /proc/PID/comm shows) and returns its PID.
func startProcess(t *testing.T, name string) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), name)
	data, err := os.ReadFile(sleep)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	cmd := exec.Command(bin, "60")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// A lock left by a killed postmaster is removed when its PID is now some
// other process (the failure seen after a rewind: "lock file ... already
// exists") or no process; a lock of a running postgres is kept.
func TestClearStaleLocksKeepsOnlyARunningServersLock(t *testing.T) {
	fn := clearStaleLocksFunc.FindString(memberScript)
	require.NotEmpty(t, fn, "clear_stale_locks not found in member.sh")
	pgdata, sockets := t.TempDir(), t.TempDir()
	write := func(path string, pid int) {
		require.NoError(t, os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n/var/lib/postgresql/data/pgdata\n"), 0o600))
	}
	run := func() string {
		cmd := exec.Command("/bin/sh", "-c", "set -eu\nlog() { echo \"$*\"; }\n"+fn+"clear_stale_locks\n")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "PGDATA=" + pgdata, "VOLUME_SOCKET_DIR=" + sockets}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	pidFile, socketLock := filepath.Join(pgdata, "postmaster.pid"), filepath.Join(sockets, ".s.PGSQL.5432.lock")

	write(pidFile, startProcess(t, "psql"))
	write(socketLock, 1<<22+7) // above the kernel's PID limit: no such process
	out := run()
	assert.NoFileExists(t, pidFile, out)
	assert.NoFileExists(t, socketLock, out)
	assert.Contains(t, out, "removing the stale lock file "+pidFile)

	server := startProcess(t, "postgres")
	write(pidFile, server)
	write(socketLock, server)
	out = run()
	assert.FileExists(t, pidFile, "a running server's lock stays: PostgreSQL refuses to start beside it")
	assert.FileExists(t, socketLock)
	assert.Empty(t, out)

	require.NoError(t, os.Remove(pidFile))
	require.NoError(t, os.Remove(socketLock))
	assert.Empty(t, run(), "nothing to do without lock files")
}
