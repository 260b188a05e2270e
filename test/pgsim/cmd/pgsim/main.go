// Command pgsim stands in for PostgreSQL at simulated pods' addresses, so
// the real operator can manage thousands of clusters whose pods kwok
// simulates (issue 12). It answers every address routed to its socket;
// see test/pgsim/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"postgres-operator.dev/postgres-operator/pkg/pki"
	"postgres-operator.dev/postgres-operator/test/pgsim"
)

type options struct {
	listen, metrics, kubeconfig string
	caCert, caKey               string
	version                     string
	debug                       bool
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "0.0.0.0:5432", "address to serve the PostgreSQL protocol on")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig to read the clusters' CA Secrets with (empty: in-cluster)")
	flag.StringVar(&o.caCert, "ca-cert", "", "instead of Kubernetes: a CA certificate (PEM) for every cluster, with --ca-key")
	flag.StringVar(&o.caKey, "ca-key", "", "the key of --ca-cert (PEM)")
	flag.StringVar(&o.metrics, "metrics-listen", "", "address to serve /metrics on (empty: none)")
	flag.StringVar(&o.version, "server-version", "15.10", "the PostgreSQL version to report")
	flag.BoolVar(&o.debug, "debug", false, "log every connection that fails")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "pgsim:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cas, err := caSource(ctx, o)
	if err != nil {
		return err
	}
	srv := pgsim.New(pgsim.Config{CA: cas, ServerVersion: o.version, Log: log})
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	if o.metrics != "" {
		go serveMetrics(o.metrics, srv, log)
	}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	log.Info("serving", "listen", o.listen, "version", o.version)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	log.Info("stopped", "stats", fmt.Sprintf("%+v", srv.Stats()))
	return nil
}

// caSource is the static CA when given, else the clusters' CA Secrets.
func caSource(ctx context.Context, o options) (pgsim.CASource, error) {
	if o.caCert != "" || o.caKey != "" {
		cert, err := os.ReadFile(o.caCert)
		if err != nil {
			return nil, err
		}
		key, err := os.ReadFile(o.caKey)
		if err != nil {
			return nil, err
		}
		return pgsim.StaticCA(pki.Pair{Cert: cert, Key: key}), nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100 // CA reads that miss the watch's cache
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return pgsim.NewKubeCASource(ctx, kube)
}

func serveMetrics(addr string, srv *pgsim.Server, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_ = srv.WriteMetrics(w)
	})
	log.Error("metrics server stopped", "err", http.ListenAndServe(addr, mux))
}
