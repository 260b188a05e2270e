//go:build integration

package cluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// TestPassfileLogsInWithAnyUsablePassword: libpq reads what write_passfile
// writes, for every kind of password the operator accepts from a user
// Secret (printable ASCII, ':' and '\' included), as both roles.
func TestPassfileLogsInWithAnyUsablePassword(t *testing.T) {
	primary := pgtest.NewPrimary(t, "passfile")
	const replPassword = `r:e\p l'"*`
	require.NoError(t, validatePassword(replPassword))
	require.NoError(t, validatePassword(primary.Password))
	require.NoError(t, postgres.New().SetPassword(context.Background(), primary.Endpoint(), pgtest.ReplicationUser, replPassword))

	dir := t.TempDir()
	passfile := filepath.Join(dir, ".pgpass")
	writeMountedPasswords(t, dir, primary.Password, replPassword)
	require.NoError(t, runWritePassfile(t, dir, passfile))

	binDir := os.Getenv("PGTEST_BINDIR")
	if binDir == "" {
		binDir = pgtest.DefaultBinDir
	}
	for _, user := range []string{"postgres", pgtest.ReplicationUser} {
		cmd := exec.Command(filepath.Join(binDir, "psql"), "-h", "127.0.0.1", "-p", strconv.Itoa(primary.Port),
			"-U", user, "-d", "postgres", "-w", "-XAtqc", "SELECT current_user")
		cmd.Env = []string{"PGPASSFILE=" + passfile, "PGCONNECT_TIMEOUT=5"}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Equal(t, user+"\n", string(out))
	}
}
