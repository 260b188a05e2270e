package cluster

import (
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned"
	pglisters "postgres-operator.dev/postgres-operator/pkg/client/listers/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// DefaultImageTemplate gives the official postgres image of the major version.
const DefaultImageTemplate = "postgres:{version}"

// Listers are the informer caches a cluster reads its world from.
type Listers struct {
	Clusters pglisters.PostgresClusterLister
	Pods     corelisters.PodLister
	PVCs     corelisters.PersistentVolumeClaimLister
	Services corelisters.ServiceLister
	Secrets  corelisters.SecretLister
	PDBs     policylisters.PodDisruptionBudgetLister
	// ByCluster lists a cluster's own pods, volumes, Secrets, Services and
	// disruption budgets without scanning its namespace (index.go).
	ByCluster ClusterIndex
	// Backups may be nil (tests): status.backup then lists no backup.
	Backups pglisters.PostgresBackupLister
	// Nodes is nil when the operator may not list nodes (a namespaced
	// install): a primary on a cordoned node is then not switched over
	// ahead of the drain (plan_drain.go).
	Nodes corelisters.NodeLister
}

// Config is what every cluster actor shares.
type Config struct {
	Kube     kubernetes.Interface
	Client   versioned.Interface
	Listers  Listers
	Recorder record.EventRecorder
	Postgres postgres.Client
	// ImageTemplate picks the image when spec.image is empty; "{version}"
	// is replaced with the major version.
	ImageTemplate string
	// ReconcileInterval is the period of the (jittered) reconcile timer.
	ReconcileInterval time.Duration
	Clock             clock.WithTicker
	// Metrics receives the actors' measurements (metrics.go); nil: none.
	Metrics Metrics
	// Stats says how to read the members' statistics for Metrics (stats.go).
	Stats StatsConfig
	// Heartbeat starts the heartbeat to a primary (fence_heartbeat.go);
	// nil: postgres.StartHeartbeat.
	Heartbeat HeartbeatStarter
	// FirstPassDelay holds the actor's first pass back (startup_spread.go).
	FirstPassDelay time.Duration
}

// imageFor returns the PostgreSQL image a cluster runs.
func (cfg *Config) imageFor(pgc *v1alpha1.PostgresCluster) string {
	if pgc.Spec.Image != "" {
		return pgc.Spec.Image
	}
	tmpl := cfg.ImageTemplate
	if tmpl == "" {
		tmpl = DefaultImageTemplate
	}
	return strings.ReplaceAll(tmpl, "{version}", strconv.Itoa(int(pgc.Spec.PostgresVersion)))
}
