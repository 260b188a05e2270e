//go:build integration

package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

func TestEnsureRoleAndSetPassword(t *testing.T) {
	t.Parallel()
	primary := pgtest.NewPrimary(t, "p")
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()
	flags := func() string {
		return primary.Query(t, `SELECT rolcanlogin::text || ',' || rolreplication::text FROM pg_roles WHERE rolname = 'App User'`)
	}

	// Log every statement, to prove the plaintext password never reaches the log.
	_, err := c.SetParameters(ctx, ep, map[string]string{"log_statement": "all"}, nil)
	require.NoError(t, err)
	waitSetting(t, primary, "log_statement", "all")

	const role = "App User" // needs quoting
	require.NoError(t, c.EnsureRole(ctx, ep, role, true, false))
	require.NoError(t, c.EnsureRole(ctx, ep, role, true, false), "idempotent")
	assert.Equal(t, "true,false", flags())

	const password = `n3w pa'ss"word\ `
	require.NoError(t, c.SetPassword(ctx, ep, role, password))
	require.NoError(t, primary.Connect(role, password), "log in with the new password")
	assert.Error(t, primary.Connect(role, "wrong"))
	stored := primary.Query(t, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role)
	assert.True(t, strings.HasPrefix(stored, "SCRAM-SHA-256$4096:"), stored)

	// Rotate: the old password stops working.
	require.NoError(t, c.SetPassword(ctx, ep, role, "rotated"))
	require.NoError(t, primary.Connect(role, "rotated"))
	assert.Error(t, primary.Connect(role, password))

	// Flags are corrected in place; the password is kept.
	verifier := func() string { return primary.Query(t, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role) }
	rotated := verifier()
	require.NoError(t, c.EnsureRole(ctx, ep, role, false, true))
	assert.Equal(t, "false,true", flags())
	assert.Equal(t, rotated, verifier())

	// The statements were logged, the plaintext never was.
	pgtest.Eventually(t, 10*time.Second, "ALTER ROLE in the server log", func() (bool, error) {
		log, err := os.ReadFile(primary.LogFile)
		return strings.Contains(string(log), `ALTER ROLE "App User" PASSWORD 'SCRAM-SHA-256$4096:`), err
	})
	log, err := os.ReadFile(primary.LogFile)
	require.NoError(t, err)
	assert.NotContains(t, string(log), "pa'ss")
	assert.NotContains(t, string(log), "pa''ss")
	assert.NotContains(t, string(log), "rotated")
}
