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
	e := newSeedEnv(t)
	fn := otherDatabaseFunc.FindString(memberScript)
	require.NotEmpty(t, fn, "other_database not found in member.sh")
	fn = strings.ReplaceAll(fn, "-p 5432", "-p "+strconv.Itoa(primary.Port))
	script := "set -eu\n" + fn + "if other_database; then echo other; else echo same; fi\n"
	cmd := e.command([]string{"PGDATA=" + dataDir, "PRIMARY_HOST=127.0.0.1", "PGPASSWORD=" + primary.Password},
		"/bin/sh", "-c", script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.TrimSpace(string(out)) == "other"
}
