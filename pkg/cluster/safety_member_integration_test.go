//go:build integration

package cluster

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

var otherDatabaseFunc = regexp.MustCompile(`(?s)\nother_database\(\) \{\n.*?\n\}\n`)

// onPrimaryFunc is the helper the checks ask the primary with.
var onPrimaryFunc = regexp.MustCompile(`(?s)\non_primary\(\) \{\n.*?\n\}\n`)

// TestOtherDatabaseTellsVolumesApart runs member.sh's other_database, the
// check that keeps a failed rewind from re-cloning over (deleting) a volume
// that holds another database, against real servers.
func TestOtherDatabaseTellsVolumesApart(t *testing.T) {
	primary := pgtest.NewPrimary(t, "ours")
	standby := primary.NewStandby(t, "ours-standby")
	stranger := pgtest.NewPrimary(t, "theirs") // another initdb

	assert.False(t, runOtherDatabase(t, primary, standby.DataDir), "a copy of the primary is ours")
	assert.True(t, runOtherDatabase(t, primary, stranger.DataDir), "another initdb is not")
}

// runOtherDatabase runs the function with PGDATA=dataDir against primary
// and reports whether it says the data is another database's.
func runOtherDatabase(t *testing.T, primary *pgtest.Server, dataDir string) bool {
	out := runMemberCheck(t, otherDatabaseFunc, primary, dataDir, "if other_database; then echo other; else echo same; fi")
	return out == "other"
}

// runMemberCheck runs one of member.sh's functions (fn finds it), then
// body, as a member would against primary with PGDATA=dataDir, and
// returns what body printed.
func runMemberCheck(t *testing.T, fn *regexp.Regexp, primary *pgtest.Server, dataDir, body string) string {
	e := newSeedEnv(t)
	code := fn.FindString(memberScript)
	require.NotEmpty(t, code, "%s not found in member.sh", fn)
	helper := onPrimaryFunc.FindString(memberScript)
	require.NotEmpty(t, helper, "on_primary not found in member.sh")
	code = helper + code
	code = strings.ReplaceAll(code, "-p 5432", "-p "+strconv.Itoa(primary.Port))
	cmd := e.command([]string{"PGDATA=" + dataDir, "PRIMARY_HOST=127.0.0.1", "PGPASSWORD=" + primary.Password},
		"/bin/sh", "-c", "set -eu\n"+code+body+"\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.TrimSpace(string(out))
}
