package main

import (
	"fmt"
	"os"
	"strings"
)

// writePassfile writes a one-line libpq password file for the endpoint,
// readable by its owner alone (libpq ignores a passfile others can read),
// and returns its path and a function that removes it. The line names the
// host and port, so a \connect elsewhere in psql is never offered this
// password; database and user are wildcards so `-- -d app` still works.
func writePassfile(ep endpoint, password string) (string, func(), error) {
	f, err := os.CreateTemp("", "kubectl-pgc-*.pgpass")
	if err != nil {
		return "", nil, fmt.Errorf("creating the passfile: %w", err)
	}
	cleanup := func() { _ = os.Remove(f.Name()) }
	line := fmt.Sprintf("%s:%d:*:*:%s\n", passfileEscape(ep.host), ep.port, passfileEscape(password))
	// CreateTemp already makes the file 0600; Chmod says it on purpose.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(line)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("writing the passfile: %w", err)
	}
	return f.Name(), cleanup, nil
}

// passfileEscape escapes what the passfile format gives a meaning to.
func passfileEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(s)
}
