package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The first period spans a whole period, so actors started together are
// spread over it; the later ones stay within 20% above it.
func TestTimerPeriods(t *testing.T) {
	c := &Cluster{cfg: &Config{ReconcileInterval: 10 * time.Second}}
	var early, late bool
	for range 1000 {
		first := c.firstInterval()
		assert.GreaterOrEqual(t, first, 2*time.Second)
		assert.Less(t, first, 12*time.Second)
		early = early || first < 4*time.Second
		late = late || first > 10*time.Second
		next := c.interval()
		assert.GreaterOrEqual(t, next, 10*time.Second)
		assert.Less(t, next, 12*time.Second)
	}
	assert.True(t, early && late, "first periods spread over the whole range")
	assert.Equal(t, 10*time.Second, (&Cluster{cfg: &Config{}}).period(), "the default")
}
