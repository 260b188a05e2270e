package main

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Sharding: several operator Deployments split the PostgresClusters
// between them. Each one holds its own Lease (--leader-elect-lease-name)
// and manages only the clusters its --cluster-selector takes; the
// selectors must not overlap (e.g. postgres-operator.dev/shard=b for one,
// !postgres-operator.dev/shard for the default one). The selector filters
// the PostgresCluster informer, so a shard caches, runs and reports only
// its own clusters; a cluster whose labels leave the selector looks
// deleted to that shard, whose runner then stops without touching it
// (pkg/controller/sync.go), and the shard it now matches starts one.

// checkShardFlags parses --cluster-selector once, at start, so that a
// typo stops the operator with a clear error instead of selecting nothing.
func checkShardFlags(o *options) error {
	if strings.TrimSpace(o.clusterSelector) == "" {
		return nil
	}
	sel, err := labels.Parse(o.clusterSelector)
	if err != nil {
		return fmt.Errorf("--cluster-selector %q is not a label selector (for example postgres-operator.dev/shard=b, "+
			"or !postgres-operator.dev/shard for the clusters no shard claims): %w", o.clusterSelector, err)
	}
	o.selector = sel
	return nil
}

// selectClusters narrows the PostgresCluster informer's list and watch to
// the shard's clusters; nil selects them all.
func selectClusters(sel labels.Selector) func(*metav1.ListOptions) {
	return func(lo *metav1.ListOptions) {
		if sel != nil {
			lo.LabelSelector = sel.String()
		}
	}
}
