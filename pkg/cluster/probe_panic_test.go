package cluster

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

func TestProbePanicBecomesTheMembersError(t *testing.T) {
	m := &member{name: "demo-1", db: &postgres.Status{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer recoverProbe(context.Background(), m)
		panic("driver bug")
	}()
	<-done
	assert.Nil(t, m.db)
	assert.ErrorContains(t, m.dbErr, "driver bug")
	assert.False(t, postgres.IsUnreachable(m.dbErr), "our own bug never starts a failover")
}
