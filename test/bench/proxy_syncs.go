package main

import (
	"context"
	"time"
)

// The host's kube-proxy, which the writer's connections to <cluster>-rw go
// through (the first node's; the writer runs on the host).
const hostProxyMetrics = "127.0.0.1:10249"

// proxySync is one rules sync of the host's kube-proxy, as its metrics
// showed it: when it ended and how long it took. Syncs that ended between
// two polls are merged into one, with their summed time.
type proxySync struct {
	ended time.Time
	took  time.Duration
	syncs int
}

// proxySyncPoller reads the host kube-proxy's sync metrics every 100 ms, so
// that a traced run shows when the -rw change reached the node's rules and
// what the sync cost (it grows with the number of Services).
type proxySyncPoller struct {
	syncs []proxySync
	stop  chan struct{}
	done  chan struct{}
}

func startProxySyncPoller(ctx context.Context) *proxySyncPoller {
	p := &proxySyncPoller{stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(ctx)
	return p
}

func (p *proxySyncPoller) run(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastCount, lastSum, ok := proxySyncTotals(ctx)
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		count, sum, got := proxySyncTotals(ctx)
		if !got {
			continue
		}
		if ok && count > lastCount {
			p.syncs = append(p.syncs, proxySync{ended: time.Now(), took: time.Duration((sum - lastSum) * float64(time.Second)),
				syncs: int(count - lastCount)})
		}
		lastCount, lastSum, ok = count, sum, true
	}
}

// halt stops polling and returns the syncs seen; nil when not polling.
func (p *proxySyncPoller) halt() []proxySync {
	if p == nil {
		return nil
	}
	close(p.stop)
	<-p.done
	return p.syncs
}

// proxySyncTotals is the IPv4 sync count and total seconds so far.
func proxySyncTotals(ctx context.Context) (count, sum float64, ok bool) {
	ss, err := scrapeMetrics(ctx, hostProxyMetrics)
	if err != nil {
		return 0, 0, false
	}
	for _, s := range ss {
		if s.labels["ip_family"] != "IPv4" {
			continue
		}
		switch s.name {
		case "kubeproxy_sync_proxy_rules_duration_seconds_count":
			count = s.value
		case "kubeproxy_sync_proxy_rules_duration_seconds_sum":
			sum = s.value
		}
	}
	return count, sum, count > 0
}
