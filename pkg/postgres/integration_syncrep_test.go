//go:build integration

package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

func syncState(t *testing.T, c postgres.Client, primary *pgtest.Server, want string) {
	t.Helper()
	pgtest.Eventually(t, 20*time.Second, "sync_state "+want, func() (bool, error) {
		rs, err := c.Replication(context.Background(), primary.Endpoint())
		return err == nil && len(rs) == 1 && rs[0].SyncState == want, err
	})
}

func TestSynchronousStandbyNamesMakesCommitsWait(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()
	primary.Exec(t, `CREATE TABLE t (i int)`)

	value := postgres.SyncStandbyNames(1, []string{standby.Name, "demo-2"})
	assert.Equal(t, `ANY 1 ("demo-2","s")`, value)
	require.NoError(t, c.SetSynchronousStandbyNames(ctx, ep, value))
	syncState(t, c, primary, "quorum")
	primary.Exec(t, `INSERT INTO t VALUES (1)`) // commits: the standby confirms

	// Without the standby, a commit waits for it...
	standby.Stop(t)
	db := primary.DB(t)
	done := make(chan error, 1)
	go func() { _, err := db.Exec(`INSERT INTO t VALUES (2)`); done <- err }()
	pgtest.Eventually(t, 20*time.Second, "the commit to wait for the standby", func() (bool, error) {
		n, err := primary.QueryErr(`SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'`)
		return n == "1", err
	})
	select {
	case err := <-done:
		t.Fatalf("commit returned without a synchronous standby: %v", err)
	default:
	}
	// ...and completes once the standby is back.
	standby.Start(t)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("commit still waiting after the standby came back")
	}

	// An empty value turns synchronous replication off again.
	require.NoError(t, c.SetSynchronousStandbyNames(ctx, ep, ""))
	syncState(t, c, primary, "async")
	assert.Equal(t, "", primary.Query(t, `SHOW synchronous_standby_names`))
}
