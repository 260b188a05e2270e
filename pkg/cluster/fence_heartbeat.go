package cluster

import (
	"context"
	"hash/fnv"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// The operator's side of the self-fencing lease (fence_probe.go): one
// long-lived connection to the primary of each cluster of two or more
// members, on which a trivial statement runs every T/4. It runs on a
// goroutine of its own, so the lease never depends on the reconcile
// cadence, and it pokes the actor when it starts failing, so a primary cut
// off is noticed within a beat rather than a reconcile period.

// heartbeatTimeout bounds one beat. A primary that takes longer than this
// to answer SELECT 1 over a held connection is reconnected to, which costs
// nothing; what matters is that a beat that may have reached the primary
// ends soon, since the operator's wait before promoting past it counts
// from there.
const heartbeatTimeout = time.Second

// Heartbeater is one running heartbeat (a *postgres.Heartbeat).
type Heartbeater interface{ Close() }

// HeartbeatStarter starts a heartbeat to a primary; Config.Heartbeat
// replaces postgres.StartHeartbeat in tests.
type HeartbeatStarter func(ep postgres.Endpoint, cfg postgres.HeartbeatConfig) Heartbeater

func startHeartbeat(ep postgres.Endpoint, cfg postgres.HeartbeatConfig) Heartbeater {
	return postgres.StartHeartbeat(ep, cfg)
}

// heartbeat is the actor's handle on its heartbeat. Only the actor's
// goroutine starts and stops it; beats report through mu.
type heartbeat struct {
	member  string // the primary beaten to
	key     uint64 // its pod and how to log in: a change restarts the heartbeat
	running Heartbeater

	mu      sync.Mutex
	reached map[string]time.Time // per member: the end of the last beat that may have reached it
	// failingSince is when the first of the failing beats to failingFor
	// started (the member has not answered since); zero while beats pass.
	failingSince time.Time
	failingFor   string
}

// followPrimary keeps the heartbeat on the cluster's primary: started
// when a labelled primary answers, restarted when its pod or the
// operator's credentials change, stopped when there is no labelled
// primary (a fenced primary must be left to fence itself) or the cluster
// has a single member. A primary that did not answer this pass keeps its
// heartbeat, which reconnects on its own.
func (c *Cluster) followPrimary(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) {
	p := labelledPrimary(obs.members)
	if p == nil || !p.hasPod() || !needsHeartbeat(pgc, obs) {
		c.stopHeartbeat()
		return
	}
	hb := &c.heartbeat
	if !p.isPrimary() || p.login == "" {
		if hb.member != p.name {
			c.stopHeartbeat()
		}
		return
	}
	ep := endpoint(p, p.login)
	key := heartbeatKey(string(p.pod.UID), ep)
	if hb.running != nil && hb.member == p.name && hb.key == key {
		return
	}
	c.stopHeartbeat()
	interval := heartbeatInterval(fenceAfter(pgc))
	hb.member, hb.key = p.name, key
	hb.running = c.cfg.heartbeat()(ep, postgres.HeartbeatConfig{
		Interval: interval, Timeout: heartbeatTimeout, Report: c.beatReporter(p.name),
	})
	klog.FromContext(ctx).V(2).Info("Heartbeat started", "member", p.name, "interval", interval)
}

// heartbeatInterval is how often the heartbeat beats for the lease t.
func heartbeatInterval(t time.Duration) time.Duration { return t / 4 }

// needsHeartbeat: only a primary with its members' replication slots can
// fence itself, which a single-member cluster never has.
func needsHeartbeat(pgc *v1alpha1.PostgresCluster, obs *observation) bool {
	return pgc.Spec.Size > 1 || len(obs.members) > 1
}

// stopHeartbeat closes the running heartbeat, if any, without waiting.
func (c *Cluster) stopHeartbeat() {
	hb := &c.heartbeat
	if hb.running != nil {
		hb.running.Close()
	}
	hb.running, hb.member, hb.key = nil, "", 0
	hb.mu.Lock()
	hb.failingSince, hb.failingFor = time.Time{}, "" // a closed heartbeat's silence says nothing
	hb.mu.Unlock()
}

// beatReporter records, on the actor's clock, when a beat may have reached
// the member, and pokes the actor when beats start failing.
func (c *Cluster) beatReporter(member string) func(postgres.Beat) {
	hb := &c.heartbeat
	return func(b postgres.Beat) {
		now := c.cfg.Clock.Now()
		hb.mu.Lock()
		if b.Reached {
			if hb.reached == nil {
				hb.reached = map[string]time.Time{}
			}
			hb.reached[member] = now
		}
		started := b.Err != nil && hb.failingSince.IsZero()
		switch {
		case started:
			hb.failingSince, hb.failingFor = now.Add(-b.Took), member
		case b.Err == nil:
			hb.failingSince, hb.failingFor = time.Time{}, ""
		}
		hb.mu.Unlock()
		if started {
			c.poke()
		}
	}
}

// reachedAt is the end of the last beat that may have reached member.
func (hb *heartbeat) reachedAt(member string) time.Time {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	return hb.reached[member]
}

// silentSince is when the beats to member started failing, zero when they
// are not failing.
func (hb *heartbeat) silentSince(member string) time.Time {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.failingFor != member {
		return time.Time{}
	}
	return hb.failingSince
}

// forget drops what the beats said of members other than keep.
func (hb *heartbeat) forget(keep string) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	for name := range hb.reached {
		if name != keep {
			delete(hb.reached, name)
		}
	}
}

// heartbeatKey fingerprints the pod and everything the connection logs in
// with (password, certificates), so a rotation reconnects.
func heartbeatKey(podUID string, ep postgres.Endpoint) uint64 {
	h := fnv.New64a()
	for _, s := range []string{podUID, ep.Address(), ep.User, ep.Password, ep.Database} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if t := ep.TLS; t != nil {
		for _, b := range [][]byte{[]byte(t.ServerName), t.RootCAs, t.Cert, t.Key} {
			h.Write(b)
			h.Write([]byte{0})
		}
		if t.SkipVerify {
			h.Write([]byte{1})
		}
	}
	return h.Sum64()
}

// heartbeat is the starter to use.
func (cfg *Config) heartbeat() HeartbeatStarter {
	if cfg.Heartbeat != nil {
		return cfg.Heartbeat
	}
	return startHeartbeat
}
