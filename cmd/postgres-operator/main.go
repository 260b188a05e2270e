// Command postgres-operator runs highly available PostgreSQL clusters from
// PostgresCluster resources.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
)

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if opts.showVersion {
		fmt.Println(versionString())
		return
	}
	// SIGTERM (a Deployment rollout) and SIGINT stop the operator cleanly:
	// runners stop, the Lease is released, then the process exits.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logger := klog.Background()
	ctx = klog.NewContext(ctx, logger)
	if err := run(ctx, opts); err != nil {
		logger.Error(err, "Operator stopped with an error")
		klog.Flush()
		os.Exit(1)
	}
	logger.Info("Operator stopped")
	klog.Flush()
}
