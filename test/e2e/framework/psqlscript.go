//go:build e2e

package framework

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// PSQLResult is the outcome of one psql script.
type PSQLResult struct {
	Out string
	Err error
}

// PSQLScript runs a psql script (read from stdin, statement by statement,
// in one session, so psql meta-commands such as \gset work) against
// host:5432 as the superuser, and returns what it printed.
func PSQLScript(host, password, script string) (string, error) {
	r := <-StartPSQLScript(host, password, script)
	return r.Out, r.Err
}

// StartPSQLScript runs PSQLScript in the background; the channel yields
// its result once psql exits.
func StartPSQLScript(host, password, script string) <-chan PSQLResult {
	cmd := exec.Command("psql", "-h", host, "-p", "5432", "-U", "postgres", "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1", "-f", "-")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=3")
	cmd.Stdin = strings.NewReader(script)
	done := make(chan PSQLResult, 1)
	go func() {
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("psql: %w: %s", err, out)
		}
		done <- PSQLResult{Out: strings.TrimSpace(string(out)), Err: err}
	}()
	return done
}
