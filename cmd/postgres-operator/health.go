package main

import (
	"context"
	"net/http"
	"sync/atomic"
)

// health serves /healthz (the process is alive) and /readyz (this replica
// leads and its caches have synced, or it is a healthy standby: see
// setReady).
type health struct{ ready atomic.Bool }

func newHealth() *health { return &health{} }

func (h *health) setReady(v bool) { h.ready.Store(v) }

func (h *health) serve(ctx context.Context, addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !h.ready.Load() {
			http.Error(w, "not leading or caches not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	listenAndServe(ctx, "health", addr, mux)
}
