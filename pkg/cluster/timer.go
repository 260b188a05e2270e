package cluster

import (
	"math/rand/v2"
	"time"
)

// firstInterval is the first period of an actor's timer, drawn over a
// whole period, [0.2, 1.2) × the interval: actors started together (every
// cluster, when an operator starts or a new leader takes over) then tick
// spread out at once, and the 20% jitter of each later period keeps them
// so. That jitter alone spreads them slowly: simulated with 1,000 clusters
// at 10 s (a mean of 91 passes a second), the busiest second held 509
// passes in the first minute and 205 in minutes 2 to 5; with this first
// period, at most 125 from the start.
func (c *Cluster) firstInterval() time.Duration {
	p := c.period()
	return p/5 + rand.N(p)
}
