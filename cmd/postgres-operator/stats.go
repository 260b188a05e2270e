package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/cluster"
	"postgres-operator.dev/postgres-operator/pkg/metrics"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// checkStatsFlags checks --pg-stats-interval and --custom-queries.
func checkStatsFlags(o *options) error {
	if o.pgStatsInterval != 0 && o.pgStatsInterval < time.Second {
		return fmt.Errorf("--pg-stats-interval must be 0 (off) or at least 1s, got %s", o.pgStatsInterval)
	}
	if o.customQueries == "" {
		return nil
	}
	ns, name, ok := strings.Cut(o.customQueries, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("--custom-queries must be <namespace>/<name>, got %q", o.customQueries)
	}
	if o.pgStatsInterval == 0 {
		return fmt.Errorf("--custom-queries runs with the statistics: it needs --pg-stats-interval above 0")
	}
	return nil
}

// statsConfig is how the cluster actors read the members' statistics:
// only with metrics on (m not nil) and --pg-stats-interval above 0, with
// the custom queries of the ConfigMap --custom-queries names. The
// returned function starts watching that ConfigMap.
func statsConfig(ctx context.Context, o *options, kube kubernetes.Interface, m cluster.Metrics) (cluster.StatsConfig, func(<-chan struct{})) {
	none := func(<-chan struct{}) {}
	if m == nil || o.pgStatsInterval <= 0 {
		return cluster.StatsConfig{}, none
	}
	cfg := cluster.StatsConfig{Interval: o.pgStatsInterval}
	cfg.Errors, _ = m.(cluster.StatsErrors)
	if o.customQueries == "" {
		return cfg, none
	}
	ns, name, _ := strings.Cut(o.customQueries, "/")
	q := &customQueries{key: o.customQueries, logger: klog.FromContext(ctx).WithValues("configMap", o.customQueries)}
	cfg.Queries = q.get
	return cfg, q.watch(kube, ns, name)
}

// customQueries holds the queries of the ConfigMap as last seen: parsed
// when it changes, read by every actor at each of its reads.
type customQueries struct {
	key     string // namespace/name
	logger  klog.Logger
	current atomic.Pointer[[]postgres.CustomQuery]
}

func (q *customQueries) get() []postgres.CustomQuery {
	if p := q.current.Load(); p != nil {
		return *p
	}
	return nil
}

// watch builds an informer of the one ConfigMap (list and watch, which
// the operator's RBAC grants on ConfigMaps) and returns its start.
func (q *customQueries) watch(kube kubernetes.Interface, ns, name string) func(<-chan struct{}) {
	f := kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0, kubeinformers.WithNamespace(ns),
		kubeinformers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}))
	_, err := f.Core().V1().ConfigMaps().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    q.set,
		UpdateFunc: func(_, obj any) { q.set(obj) },
		DeleteFunc: q.deleted,
	})
	if err != nil {
		q.logger.Error(err, "Cannot watch the custom queries ConfigMap")
	}
	return f.Start
}

// set parses the ConfigMap; a query it refuses is logged, the others run.
// The field selector already keeps other ConfigMaps out; the check makes
// sure of it.
func (q *customQueries) set(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok || cm.Namespace+"/"+cm.Name != q.key {
		return
	}
	qs, errs := metrics.ParseCustomQueries(cm.Data)
	for _, err := range errs {
		q.logger.Error(err, "Custom query refused")
	}
	q.current.Store(&qs)
	q.logger.Info("Custom queries loaded", "queries", len(qs), "refused", len(errs))
}

func (q *customQueries) deleted(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil && key == q.key {
		q.current.Store(nil)
		q.logger.Info("Custom queries ConfigMap deleted: no custom queries")
	}
}
