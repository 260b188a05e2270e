package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/cluster"
)

// options are the operator's command-line flags.
type options struct {
	kubeconfig        string
	namespaces        []string // empty: every namespace
	workers           int
	reconcileInterval time.Duration
	qps               float64
	burst             int
	leaderElect       bool
	leaseNamespace    string
	leaseName         string
	leaseDuration     time.Duration
	renewDeadline     time.Duration
	retryPeriod       time.Duration
	healthAddr        string
	metricsAddr       string
	pprofAddr         string
	imageTemplate     string
	showVersion       bool
	pgStatsInterval   time.Duration   // 0: no statistics read (stats.go)
	customQueries     string          // <namespace>/<name> of a ConfigMap, or ""
	clusterSelector   string          // --cluster-selector as given (shard.go)
	selector          labels.Selector // clusterSelector parsed; nil: every PostgresCluster
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("postgres-operator", flag.ContinueOnError)
	klog.InitFlags(fs)
	var namespaces string
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; empty means in-cluster configuration.")
	fs.StringVar(&namespaces, "namespaces", "", "Comma-separated namespaces to watch; empty means all namespaces.")
	fs.IntVar(&o.workers, "workers", 8, "Workers that hand PostgresCluster changes to their cluster goroutines.")
	fs.DurationVar(&o.reconcileInterval, "reconcile-interval", 10*time.Second, "Period of each cluster's reconcile timer (jittered by up to 20%).")
	// Sized for about 1,000 clusters: a failover touches a handful of
	// objects, and client-go's 5/10 would queue them behind each other.
	fs.Float64Var(&o.qps, "kube-api-qps", 200, "Sustained queries per second to the Kubernetes API.")
	fs.IntVar(&o.burst, "kube-api-burst", 400, "Burst of queries to the Kubernetes API.")
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "Hold a Lease so only one replica of the operator acts.")
	fs.StringVar(&o.leaseNamespace, "leader-elect-namespace", defaultLeaseNamespace(), "Namespace of the leader election Lease.")
	fs.StringVar(&o.leaseName, "leader-elect-lease-name", "postgres-operator", "Name of the leader election Lease; each shard (--cluster-selector) needs its own.")
	fs.StringVar(&o.leaseName, "leader-elect-name", "postgres-operator", "Same as --leader-elect-lease-name (its older name).")
	// A crashed leader is replaced once its Lease expires: leaseDuration is
	// the longest an operator crash delays a failover in flight.
	fs.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a Lease lasts without renewal; a new leader takes over after a crash within it.")
	fs.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps retrying to renew before it gives up leading.")
	fs.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often candidates try to acquire, and the leader to renew, the Lease.")
	fs.StringVar(&o.healthAddr, "health-addr", ":8081", "Address serving /healthz and /readyz; empty disables it.")
	fs.StringVar(&o.metricsAddr, "metrics-addr", ":8080", "Address serving Prometheus metrics on /metrics (every replica, leading or not); empty disables them.")
	fs.StringVar(&o.pprofAddr, "pprof-addr", "", "Address serving Go's profiles on /debug/pprof/, e.g. 127.0.0.1:6060 (reach it with kubectl port-forward); empty disables them.")
	fs.StringVar(&o.imageTemplate, "postgres-image-template", cluster.DefaultImageTemplate,
		"Image for clusters without spec.image; {version} is replaced by spec.postgresVersion.")
	fs.BoolVar(&o.showVersion, "version", false, "Print the version and exit.")
	fs.DurationVar(&o.pgStatsInterval, "pg-stats-interval", 30*time.Second,
		"How often each member's PostgreSQL statistics are read for the metrics, at most; 0 turns them off.")
	fs.StringVar(&o.customQueries, "custom-queries", "",
		"<namespace>/<name> of a ConfigMap of custom metric queries (README \"Metrics\"); empty: none.")
	fs.StringVar(&o.clusterSelector, "cluster-selector", "",
		"Label selector of the PostgresClusters this operator manages (a shard), e.g. postgres-operator.dev/shard=b, or !postgres-operator.dev/shard for those no shard claims; empty: all.")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, ns := range strings.Split(namespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			o.namespaces = append(o.namespaces, ns)
		}
	}
	if o.workers < 1 {
		return nil, fmt.Errorf("--workers must be at least 1, got %d", o.workers)
	}
	if o.reconcileInterval < time.Second {
		return nil, fmt.Errorf("--reconcile-interval must be at least 1s, got %s", o.reconcileInterval)
	}
	if o.leaderElect && !(o.retryPeriod > 0 && o.retryPeriod < o.renewDeadline && o.renewDeadline < o.leaseDuration) {
		return nil, fmt.Errorf("leader election needs 0 < --leader-elect-retry-period (%s) < --leader-elect-renew-deadline (%s) < --leader-elect-lease-duration (%s)",
			o.retryPeriod, o.renewDeadline, o.leaseDuration)
	}
	if o.metricsAddr != "" && o.metricsAddr == o.healthAddr {
		return nil, fmt.Errorf("--metrics-addr and --health-addr must differ, both are %q", o.metricsAddr)
	}
	if o.pprofAddr != "" && (o.pprofAddr == o.healthAddr || o.pprofAddr == o.metricsAddr) {
		return nil, fmt.Errorf("--pprof-addr must differ from --health-addr and --metrics-addr, got %q", o.pprofAddr)
	}
	if o.imageTemplate == "" {
		return nil, fmt.Errorf("--postgres-image-template must not be empty")
	}
	if err := checkStatsFlags(o); err != nil { // stats.go
		return nil, err
	}
	if err := checkShardFlags(o); err != nil { // shard.go
		return nil, err
	}
	return o, nil
}

// defaultLeaseNamespace is the operator's own namespace when it runs in a
// pod (the Deployment passes POD_NAMESPACE), else "postgres-operator".
func defaultLeaseNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "postgres-operator"
}
