package pgsim

import (
	"log/slog"
	"maps"
	"sync"
)

// drift records the queries the simulator does not know, so that a change
// of the operator's SQL shows up in the bench's log and metrics instead
// of as a mysteriously unhealthy fleet.
type drift struct {
	log       *slog.Logger
	mu        sync.Mutex
	unknown   map[string]int64
	simulated int64
}

// unknownQuery counts q and logs it the first time it is seen.
func (d *drift) unknownQuery(q string) {
	key := firstChars(q, 60)
	d.mu.Lock()
	if d.unknown == nil {
		d.unknown = map[string]int64{}
	}
	d.unknown[key]++
	first := d.unknown[key] == 1
	d.mu.Unlock()
	if first {
		d.log.Warn("unknown query answered with 0A000: pgsim does not simulate it", "query", key)
	}
}

func (d *drift) scriptStatement() {
	d.mu.Lock()
	d.simulated++
	d.mu.Unlock()
}

func (d *drift) snapshot() (map[string]int64, int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.unknown), d.simulated
}

// firstChars is the first n characters of s (runes, not bytes).
func firstChars(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}
