package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"k8s.io/klog/v2"
)

// listenAndServe serves h on addr until ctx is done; what names the server
// in the log. A failure to listen is logged, not fatal: the operator's work
// does not depend on its endpoints.
func listenAndServe(ctx context.Context, what, addr string, h http.Handler) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Cannot listen", "server", what, "addr", addr)
		return
	}
	serve(ctx, what, ln, h)
}

// serve serves h on ln, on its own http.Server, until ctx is done; the
// server then shuts down within 5 seconds.
func serve(ctx context.Context, what string, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	err := srv.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		klog.FromContext(ctx).Error(err, "Server failed", "server", what, "addr", ln.Addr().String())
		return
	}
	<-stopped // shut down: its connections are closed
}
