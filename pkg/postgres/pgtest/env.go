// Package pgtest runs real PostgreSQL servers on 127.0.0.1 for integration
// tests: a primary from initdb, streaming standbys cloned from it with
// pg_basebackup, and helpers to query them and wait for conditions.
//
// Servers run from the PostgreSQL 15 binaries in /usr/lib/postgresql/15/bin
// (override with PGTEST_BINDIR). initdb refuses to run as root, so when the
// tests run as root every server binary runs as the "postgres" OS user, which
// the Debian postgresql-15 package creates. Missing binaries or user fail the
// test with a clear message rather than skipping it: CI must install them.
//
// Everything a test starts is stopped and deleted in t.Cleanup, and servers
// get SIGKILL if the test binary dies, so nothing outlives the test run.
package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DefaultBinDir is where Debian's postgresql-15 package puts the server.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// env says how to run the server binaries: where they are and as whom.
type env struct {
	binDir   string
	uid, gid int
	cred     *syscall.Credential // nil: run as ourselves
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{binDir: os.Getenv("PGTEST_BINDIR"), uid: os.Geteuid(), gid: os.Getegid()}
	if e.binDir == "" {
		e.binDir = DefaultBinDir
	}
	for _, bin := range []string{"initdb", "postgres", "pg_basebackup"} {
		if _, err := os.Stat(filepath.Join(e.binDir, bin)); err != nil {
			t.Fatalf("pgtest: PostgreSQL server binary %s not found in %s: install postgresql-15 "+
				"(apt-get install postgresql-15) or set PGTEST_BINDIR", bin, e.binDir)
		}
	}
	if e.uid != 0 {
		return e
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("pgtest: running as root, but initdb refuses root and there is no OS user \"postgres\" "+
			"to run the servers as (%v); install postgresql-15, which creates it", err)
	}
	e.uid, _ = strconv.Atoi(u.Uid)
	e.gid, _ = strconv.Atoi(u.Gid)
	e.cred = &syscall.Credential{Uid: uint32(e.uid), Gid: uint32(e.gid)}
	return e
}

// command prepares a server binary to run as the server user in dir.
// Pdeathsig kills it if the test binary dies first.
func (e *env) command(dir, bin string, extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(e.binDir, bin), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C", "HOME=" + dir}, extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// run runs a short-lived binary (initdb, pg_basebackup) and returns how long
// it took; on failure it fails the test with the binary's output.
func (e *env) run(t testing.TB, dir, bin string, extraEnv []string, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	out, err := e.command(dir, bin, extraEnv, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pgtest: %s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return time.Since(start)
}

// mkdir creates a fresh directory under the system temp dir owned by the
// server user. t.TempDir would not do: its parent is private to root.
func (e *env) mkdir(t testing.TB, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chown(dir, e.uid, e.gid); err != nil {
		t.Fatalf("pgtest: chown %s: %v", dir, err)
	}
	return dir
}

// writeFile writes a file readable only by the server user.
func (e *env) writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := os.Chown(path, e.uid, e.gid); err != nil {
		t.Fatalf("pgtest: chown %s: %v", path, err)
	}
}

// appendFile appends to a file the server user owns (postgresql.conf).
func appendFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatalf("pgtest: append to %s: %v", path, err)
	}
}

// tail returns the last n lines of a file, for failure reports.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
