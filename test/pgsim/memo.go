package pgsim

import (
	"sync"
	"sync/atomic"
)

// memo remembers what a pure function of a query string returned. The
// operator sends the same few statement texts over and over (the probe
// every few seconds per member), so matching each text once saves most of
// the simulator's own CPU. Texts that never repeat (ALTER ROLE with a
// fresh verifier) would grow it without bound, so it stops remembering
// at a size far above the operator's distinct statements.
type memo[V any] struct {
	m    sync.Map
	size atomic.Int64
}

const memoLimit = 4096

func (c *memo[V]) get(key string, compute func(string) V) V {
	if v, ok := c.m.Load(key); ok {
		return v.(V)
	}
	v := compute(key)
	if c.size.Load() < memoLimit {
		if _, loaded := c.m.LoadOrStore(key, v); !loaded {
			c.size.Add(1)
		}
	}
	return v
}
