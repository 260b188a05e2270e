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

func slotNames(t *testing.T, c postgres.Client, s *pgtest.Server) map[string]postgres.Slot {
	t.Helper()
	slots, err := c.Slots(context.Background(), s.Endpoint())
	require.NoError(t, err)
	m := map[string]postgres.Slot{}
	for _, sl := range slots {
		m[sl.Name] = sl
	}
	return m
}

func TestSlotsEnsureAndDropAreIdempotent(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)
	c, ctx, ep := postgres.New(), context.Background(), primary.Endpoint()

	name := postgres.SlotName("demo-12")
	require.NoError(t, c.EnsureSlot(ctx, ep, name))
	require.NoError(t, c.EnsureSlot(ctx, ep, name), "ensuring an existing slot is a no-op")
	slots := slotNames(t, c, primary)
	require.Contains(t, slots, name)
	assert.Equal(t, "physical", slots[name].Type)
	assert.False(t, slots[name].Active)
	assert.NotZero(t, slots[name].RestartLSN, "WAL is reserved immediately")
	assert.Equal(t, "reserved", slots[name].WALStatus)

	require.NoError(t, c.DropSlot(ctx, ep, name))
	require.NoError(t, c.DropSlot(ctx, ep, name), "dropping a missing slot is a no-op")
	assert.NotContains(t, slotNames(t, c, primary), name)

	// The standby's slot is in use: DropSlot must end its walsender first.
	active := postgres.SlotName(standby.Name)
	require.True(t, slotNames(t, c, primary)[active].Active)
	start := time.Now()
	require.NoError(t, c.DropSlot(ctx, ep, active))
	t.Logf("dropping the active slot took %v", time.Since(start))
	assert.NotContains(t, slotNames(t, c, primary), active)
	assert.Equal(t, "0", primary.Query(t,
		`SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'`, standby.Name),
		"walsender was terminated")

	// Slots can also be made on a standby (for cascading replication).
	require.NoError(t, c.EnsureSlot(ctx, standby.Endpoint(), name))
	assert.Contains(t, slotNames(t, c, standby), name)
}
