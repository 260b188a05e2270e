package main

import (
	"context"
	"log"
	"strings"
	"time"

	"k8s.io/client-go/util/workqueue"
)

const (
	claimKey  = "claim/"
	volumeKey = "volume/"
)

func newQueue() *queue {
	return &queue{q: workqueue.NewTypedRateLimitingQueue(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](200*time.Millisecond, 30*time.Second))}
}

// queue serialises work: one item at a time is plenty for a dev cluster, and
// it means a claim and its volume are never handled concurrently.
type queue struct {
	q workqueue.TypedRateLimitingInterface[string]
}

func (q *queue) add(key string) { q.q.Add(key) }

func (p *provisioner) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		p.queue.q.ShutDown()
	}()
	for {
		key, quit := p.queue.q.Get()
		if quit {
			return
		}
		var err error
		if name, ok := strings.CutPrefix(key, claimKey); ok {
			err = p.syncClaim(ctx, name)
		} else if name, ok := strings.CutPrefix(key, volumeKey); ok {
			err = p.syncVolume(ctx, name)
		}
		if err != nil {
			log.Printf("%s: %v (will retry)", key, err)
			p.queue.q.AddRateLimited(key)
		} else {
			p.queue.q.Forget(key)
		}
		p.queue.q.Done(key)
	}
}
