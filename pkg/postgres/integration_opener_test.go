//go:build integration

package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// The shared sql.DB (opener.go) holds exactly the connections the pool
// keeps, one per endpoint, and none of its own: no endpoint can be handed
// another's.
func TestSharedOpenerHoldsOnlyThePoolsConnections(t *testing.T) {
	t.Parallel()
	s := pgtest.NewPrimary(t, "opener")
	c, ctx, ep := postgres.New(), context.Background(), s.Endpoint()
	other := ep
	other.Database = "template1"
	for range 3 {
		_, err := c.Probe(ctx, ep)
		require.NoError(t, err)
		_, err = c.Probe(ctx, other)
		require.NoError(t, err)
	}
	st := postgres.OpenerStats(c)
	assert.Equal(t, 2, postgres.KeptConnections(c), "one kept connection per endpoint")
	assert.Equal(t, 2, st.OpenConnections, "the sql.DB's connections are the kept ones")
	assert.Equal(t, 0, st.Idle, "the sql.DB keeps none of its own")

	postgres.DropKept(c, ep)
	assert.Equal(t, 1, postgres.OpenerStats(c).OpenConnections, "closing a kept connection closes the driver's")
	operatorBackendsLeft(t, s, 1, "the closed connection's backend exits")
}

func TestOpeningWithoutAnEndpointFails(t *testing.T) {
	assert.ErrorIs(t, postgres.OpenWithoutEndpoint(), postgres.ErrNoOpenRequest)
}
