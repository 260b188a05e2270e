package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// Member statistics for the metrics (postgres.Client.Stats, and the
// administrator's custom queries) are read off the pass: after the pass's
// decisions, each member that answered its probe and is due gets a
// goroutine of its own with a short budget, whose answer goes in the
// samples of the passes that follow. A pass never waits for them, and
// their failures are counted and logged, never a pass's error.

// StatsConfig is Config.Stats.
type StatsConfig struct {
	// Interval is how often each member's statistics are read at most;
	// 0 turns them off.
	Interval time.Duration
	// Queries returns the custom queries to run with them; nil: none.
	Queries func() []postgres.CustomQuery
	// Errors counts what could not be read; nil: nothing is counted.
	Errors StatsErrors
}

// StatsErrors counts failed reads. Reasons: unreachable, timeout, auth,
// query, panic.
type StatsErrors interface {
	StatsFailed(reason string)
	CustomQueryFailed(query string)
}

// statsBudget bounds one member's reads, its custom queries included.
const statsBudget = 5 * time.Second

// statsMemory is each member's last read; goroutines other than the
// actor's write it, hence the lock. The zero value is ready.
type statsMemory struct {
	mu      sync.Mutex
	members map[string]*memberStats
}

type memberStats struct {
	due     time.Time // when to read next
	reading bool
	pod     types.UID // the pod read, so a new pod starts afresh
	at      time.Time // when read
	stats   *postgres.MemberStats
	custom  []postgres.CustomResult
}

// statsTarget is what a read needs of a member, copied off the
// observation, which belongs to the actor.
type statsTarget struct {
	name    string
	pod     types.UID
	ep      postgres.Endpoint
	primary bool
	version int // server_version_num, from the pass's probe
}

// collectStats starts the reads that are due. A member first seen is
// due within one interval, at random, so that clusters started together
// spread their reads.
func (c *Cluster) collectStats(ctx context.Context, obs *observation) {
	interval := c.cfg.Stats.Interval
	if _, off := c.cfg.metrics().(noMetrics); off || interval <= 0 {
		return
	}
	now := c.cfg.Clock.Now()
	c.stats.mu.Lock()
	defer c.stats.mu.Unlock()
	c.stats.forgetGone(obs.members)
	for _, m := range obs.members.live() {
		if m.db == nil || m.pod == nil {
			continue // did not answer this pass's probe
		}
		e := c.stats.members[m.name]
		if e == nil {
			e = &memberStats{due: now.Add(rand.N(interval))}
			c.stats.members[m.name] = e
		}
		if e.reading || now.Before(e.due) {
			continue
		}
		e.reading, e.due = true, now.Add(interval)
		t := statsTarget{name: m.name, pod: m.pod.UID, ep: endpoint(m, ""), primary: !m.db.InRecovery, version: m.db.ServerVersion}
		go c.readStats(ctx, t)
	}
}

// forgetGone drops the members that no longer exist.
func (s *statsMemory) forgetGone(ms members) {
	if s.members == nil {
		s.members = map[string]*memberStats{}
	}
	for name := range s.members {
		if ms.byName(name) == nil {
			delete(s.members, name)
		}
	}
}

// readStats reads one member's statistics, then its custom queries.
func (c *Cluster) readStats(ctx context.Context, t statsTarget) {
	ctx, cancel := context.WithTimeout(ctx, statsBudget)
	defer cancel()
	var read *memberStats
	defer func() {
		if v := recover(); v != nil {
			read = nil
			c.statsFailed(ctx, t, "panic", fmt.Errorf("panicked: %v", v), "stack", string(debug.Stack()))
		}
		c.stats.done(t, read)
	}()
	st, err := c.cfg.Postgres.Stats(ctx, t.ep, t.version)
	if err != nil {
		c.statsFailed(ctx, t, statsErrorReason(err), err)
		return
	}
	read = &memberStats{pod: t.pod, at: c.cfg.Clock.Now(), stats: &st, custom: c.customQueries(ctx, t)}
}

// customQueries runs the custom queries meant for the member and keeps
// the answers of those that succeeded.
func (c *Cluster) customQueries(ctx context.Context, t statsTarget) []postgres.CustomResult {
	var qs []postgres.CustomQuery
	if c.cfg.Stats.Queries != nil {
		for _, q := range c.cfg.Stats.Queries() {
			if t.primary || !q.PrimaryOnly {
				qs = append(qs, q)
			}
		}
	}
	if len(qs) == 0 {
		return nil
	}
	var ok []postgres.CustomResult
	for _, r := range c.cfg.Postgres.CustomQueries(ctx, t.ep, qs) {
		if r.Err == nil {
			ok = append(ok, r)
			continue
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			continue // the actor stopped
		}
		klog.FromContext(ctx).V(2).Info("Custom query failed", "member", t.name, "query", r.Query.Name, "err", r.Err)
		if e := c.cfg.Stats.Errors; e != nil {
			e.CustomQueryFailed(r.Query.Name)
		}
	}
	return ok
}

// done stores a read (nil: failed, the last one stands) unless the member
// is gone.
func (s *statsMemory) done(t statsTarget, read *memberStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.members[t.name]
	if e == nil {
		return
	}
	e.reading = false
	if read != nil {
		e.pod, e.at, e.stats, e.custom = read.pod, read.at, read.stats, read.custom
	}
}

// statsFailed logs and counts a failed read, unless the actor stopped.
func (c *Cluster) statsFailed(ctx context.Context, t statsTarget, reason string, err error, kv ...any) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	klog.FromContext(ctx).V(2).Info("Reading member statistics failed",
		append([]any{"member", t.name, "reason", reason, "err", err}, kv...)...)
	if e := c.cfg.Stats.Errors; e != nil {
		e.StatsFailed(reason)
	}
}

func statsErrorReason(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case postgres.IsAuthFailed(err):
		return "auth"
	case postgres.IsUnreachable(err):
		return "unreachable"
	}
	return "query"
}

// attachStats adds to the pass's sample each member's last read, if it
// was of the member's pod in its present role and is not stale (reads that
// keep failing).
func (c *Cluster) attachStats(obs *observation, s *Sample) {
	interval := c.cfg.Stats.Interval
	if interval <= 0 {
		return
	}
	maxAge := 3*interval + statsBudget
	now := c.cfg.Clock.Now()
	c.stats.mu.Lock()
	defer c.stats.mu.Unlock()
	for i := range s.Members {
		ms := &s.Members[i]
		e, m := c.stats.members[ms.Name], obs.members.byName(ms.Name)
		if e == nil || e.stats == nil || m == nil || m.db == nil || m.pod == nil ||
			m.pod.UID != e.pod || m.db.InRecovery != e.stats.InRecovery || now.Sub(e.at) > maxAge {
			continue
		}
		ms.Stats, ms.Custom = e.stats, e.custom
	}
}
