package main

import (
	"context"
	"net/http"
	"net/http/pprof"
	"runtime"
)

// startProfiling serves Go's profiles (/debug/pprof/) on --pprof-addr:
// where a large fleet's CPU and memory go is found with them (README,
// "Figures", the scale section). Off by default; it is meant for loopback
// (reach it with kubectl port-forward), since a profile shows the heap.
//
// Off, the runtime does not sample allocations either: nothing could read
// the samples, and their table held 2.7 MiB at 1,000 clusters.
func startProfiling(ctx context.Context, addr string) {
	if addr == "" {
		runtime.MemProfileRate = 0
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go listenAndServe(ctx, "pprof", addr, mux)
}
