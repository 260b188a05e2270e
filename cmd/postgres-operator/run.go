package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/backup"
	"postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned"
	pginformers "postgres-operator.dev/postgres-operator/pkg/client/informers/externalversions"
	"postgres-operator.dev/postgres-operator/pkg/cluster"
	"postgres-operator.dev/postgres-operator/pkg/controller"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// run starts the health and metrics endpoints, then leads (or waits to
// lead) and runs the controller until ctx is cancelled.
func run(ctx context.Context, o *options) error {
	logger := klog.FromContext(ctx)
	logger.Info("Starting", "version", version, "namespaces", o.namespaces, "clusterSelector", o.clusterSelector,
		"workers", o.workers, "reconcileInterval", o.reconcileInterval, "leaderElect", o.leaderElect, "lease", o.leaseName)
	tuneCollector(ctx) // memlimit.go
	cfg, err := restConfig(o)
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("building the Kubernetes client: %w", err)
	}
	pgc, err := versioned.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("building the PostgresCluster client: %w", err)
	}
	health := newHealth()
	if o.healthAddr != "" {
		go health.serve(ctx, o.healthAddr)
	}
	startProfiling(ctx, o.pprofAddr)        // pprof.go
	m, actorMetrics := startMetrics(ctx, o) // metrics.go: nil when off
	leading := func(bool) {}
	if m != nil {
		leading = m.SetLeader
	}
	watch, err := newWatchClients(cfg) // watch_conn.go
	if err != nil {
		return err
	}
	operate := func(ctx context.Context) error { return operate(ctx, o, kube, pgc, watch, health, actorMetrics) }
	if !o.leaderElect {
		leading(true)
		defer leading(false)
		return operate(ctx)
	}
	// The Lease has a client of its own, so its own rate limiter: renewals
	// never queue behind a burst of reconcile writes (a thousand clusters
	// created at once are minutes of them at --kube-api-qps), which would
	// cost the leader its Lease.
	leaseKube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("building the leader election client: %w", err)
	}
	return leadAndRun(ctx, o, leaseKube, leading, operate)
}

func restConfig(o *options) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading the Kubernetes client configuration: %w", err)
	}
	cfg.QPS = float32(o.qps)
	cfg.Burst = o.burst
	cfg.UserAgent = "postgres-operator/" + version
	return cfg, nil
}

// operate runs the informers and the controller while this replica leads.
func operate(ctx context.Context, o *options, kube kubernetes.Interface, pgc versioned.Interface, watch watchClients, health *health, m cluster.Metrics) error {
	recorder, stopEvents := eventRecorder(ctx, kube)
	defer stopEvents()

	namespaces := o.namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	var informers []controller.NamespaceInformers
	var backupInformers []backup.Informers
	listers := map[string]cluster.Listers{}
	var starters []func(<-chan struct{})
	for _, ns := range namespaces {
		inf, binf, l, start, err := namespaceInformers(watch.kube, watch.pgc, ns, o.selector)
		if err != nil {
			return err
		}
		informers = append(informers, inf)
		backupInformers = append(backupInformers, binf)
		listers[ns] = l
		starters = append(starters, start)
	}
	nodes, startNodes := nodeInformer(ctx, kube) // nodes.go: nil when nodes cannot be listed
	pg := postgres.New()
	stats, startStats := statsConfig(ctx, o, kube, m) // stats.go
	starters = append(starters, startStats)
	spread := cluster.NewStartupSpread(time.Now(), func() int { return countClusters(listers) })
	newRunner := func(key cache.ObjectName, obj *v1alpha1.PostgresCluster, report func(error)) controller.Runner {
		l, ok := listers[key.Namespace]
		if !ok {
			l = listers[""]
		}
		if nodes != nil {
			l.Nodes = nodes.Lister()
		}
		cfg := &cluster.Config{
			Kube: kube, Client: pgc, Listers: l, Recorder: recorder, Postgres: pg,
			ImageTemplate: o.imageTemplate, ReconcileInterval: o.reconcileInterval, Metrics: m, Stats: stats,
			FirstPassDelay: spread.FirstPassDelay(obj, time.Now()),
		}
		return cluster.New(cfg, key, obj, report)
	}
	ctrl, err := controller.New(recorder, informers, newRunner, controller.Options{Workers: o.workers, Clusters: pgc.PostgresV1alpha1()})
	if err != nil {
		return err
	}
	backups, err := backup.New(backup.Config{Kube: kube, Client: pgc, Recorder: recorder, Informers: backupInformers,
		ClusterSelector: o.selector})
	if err != nil {
		return err
	}
	if nodes != nil {
		if err := ctrl.WatchNodes(nodes); err != nil {
			return err
		}
		starters = append(starters, startNodes)
	}
	for _, start := range starters {
		start(ctx.Done())
	}
	health.setReady(true)
	defer health.setReady(false)
	return runAll(ctx, ctrl.Run, backups.Run)
}

// countClusters counts the PostgresClusters this operator serves.
func countClusters(listers map[string]cluster.Listers) int {
	n := 0
	for _, l := range listers {
		if all, err := l.Clusters.List(labels.Everything()); err == nil {
			n += len(all)
		}
	}
	return n
}

// namespaceInformers builds the informers of one namespace ("" = all).
// Kube objects are filtered on the cluster label, so the operator caches
// only its own pods, volumes, services, secrets, disruption budgets and
// backup Jobs; PostgresClusters on sel, this shard's (shard.go), in a
// factory of their own since PostgresBackups carry no shard label. Every
// object is stripped of what the operator never reads (transform.go).
func namespaceInformers(kube kubernetes.Interface, pgc versioned.Interface, ns string, sel labels.Selector) (controller.NamespaceInformers, backup.Informers, cluster.Listers, func(<-chan struct{}), error) {
	kf := kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0,
		kubeinformers.WithNamespace(ns), kubeinformers.WithTransform(stripForCache),
		kubeinformers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = cluster.ClusterLabel }))
	cf := pginformers.NewSharedInformerFactoryWithOptions(pgc, 0,
		pginformers.WithNamespace(ns), pginformers.WithTransform(stripForCache), pginformers.WithTweakListOptions(selectClusters(sel)))
	pf := pginformers.NewSharedInformerFactoryWithOptions(pgc, 0,
		pginformers.WithNamespace(ns), pginformers.WithTransform(stripForCache))
	inf := controller.NamespaceInformers{
		Namespace:  ns,
		Clusters:   cf.Postgres().V1alpha1().PostgresClusters(),
		Pods:       kf.Core().V1().Pods(),
		PVCs:       kf.Core().V1().PersistentVolumeClaims(),
		Services:   kf.Core().V1().Services(),
		Secrets:    kf.Core().V1().Secrets(),
		ConfigMaps: kf.Core().V1().ConfigMaps(),
		PDBs:       kf.Policy().V1().PodDisruptionBudgets(),
	}
	binf := backup.Informers{
		Namespace: ns,
		Clusters:  inf.Clusters,
		Backups:   pf.Postgres().V1alpha1().PostgresBackups(),
		Jobs:      kf.Batch().V1().Jobs(),
		Pods:      inf.Pods,
	}
	byCluster, err := cluster.NewClusterIndex(inf.Pods.Informer(), inf.PVCs.Informer(), inf.Secrets.Informer(),
		inf.Services.Informer(), inf.PDBs.Informer())
	if err != nil {
		return inf, binf, cluster.Listers{}, nil, err
	}
	l := cluster.Listers{
		Clusters:  inf.Clusters.Lister(),
		Pods:      inf.Pods.Lister(),
		PVCs:      inf.PVCs.Lister(),
		Services:  inf.Services.Lister(),
		Secrets:   inf.Secrets.Lister(),
		PDBs:      inf.PDBs.Lister(),
		Backups:   binf.Backups.Lister(),
		ByCluster: byCluster,
	}
	return inf, binf, l, func(stop <-chan struct{}) { kf.Start(stop); cf.Start(stop); pf.Start(stop) }, nil
}

// runAll runs every fn until ctx is done or one of them returns; it then
// stops the others and returns the first error.
func runAll(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() { errs <- fn(ctx) }()
	}
	first := <-errs
	cancel()
	for range len(fns) - 1 {
		if err := <-errs; first == nil {
			first = err
		}
	}
	return first
}
