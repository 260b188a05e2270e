package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// PostgreSQL's metrics come from what each cluster actor already observes
// on every pass (its probe of each member, and the archiver read of the
// primary when backups are on): no extra connection, no agent in the pods.
// Each pass replaces its cluster's sample whole, so a removed member's
// series go with the next pass, and a deleted cluster's when its actor
// stops (ForgetCluster). Series are built when a sample differs from the
// last one (series.go), not at every scrape.
//
// Cost, in series: per member 3 or 4 (up, role, timeline, and replication
// lag on a replica that streams from a known primary); per cluster 2
// (ready, phase) plus 5 with backups on (archive_*) plus, once they
// happened, 2 (failovers, switchovers). 1,000 clusters of 3 members with
// backups: about 18,000 series (20,000 once each has failed over and
// switched over); on the operator's side, one sample per cluster held in
// memory and replaced once per pass, and its series (series.go).

// ClusterSample is one pass's view of a cluster.
type ClusterSample struct {
	// Ready is the cluster's Ready condition.
	Ready bool
	// Phase is status.phase.
	Phase   string
	Members []MemberSample
	// Archive is nil while backups are off or the archiver was never read.
	Archive *ArchiveSample
}

// MemberSample is one member as its cluster's last pass saw it.
type MemberSample struct {
	Name string
	// Up: its PostgreSQL answered the pass's probe.
	Up bool
	// Role is its pod's role label: primary, replica, or "" (no pod, or
	// fenced).
	Role string
	// Timeline is 0 when unknown (not up).
	Timeline uint32
	// LagBytes is how far its replay is behind the primary's WAL position,
	// when LagKnown (a replica, with the primary probed too).
	LagBytes int64
	LagKnown bool
	// Stats is nil until the member's statistics were read (pgstats.go),
	// Custom the custom queries that answered with them (custom.go).
	Stats  *postgres.MemberStats
	Custom []postgres.CustomResult
}

// ArchiveSample is the primary's WAL archiver (pg_stat_archiver and the
// archive hook's files).
type ArchiveSample struct {
	LastArchivedTime time.Time // zero before the first archived WAL
	ArchivedCount    int64
	FailedCount      int64
	Pending          int64 // WAL files waiting (.ready)
	Dropped          int64 // WAL files dropped at the backlog bound
}

// roleNone is the role label of a member whose pod has no role.
const roleNone = "none"

var (
	clusterLabels = []string{"namespace", "cluster"}
	memberLabels  = []string{"namespace", "cluster", "member"}

	descMemberUp = prometheus.NewDesc(namespace+"_member_up",
		"1 when the member's PostgreSQL answered the operator's last probe, else 0.", memberLabels, nil)
	descMemberRole = prometheus.NewDesc(namespace+"_member_role",
		"1, with the member's role: primary, replica, diverged (out of -ro until re-cloned), or none (no pod, or fenced).",
		[]string{"namespace", "cluster", "member", "role"}, nil)
	descMemberTimeline = prometheus.NewDesc(namespace+"_member_timeline",
		"The PostgreSQL timeline of a member that answered the last probe.", memberLabels, nil)
	descMemberLag = prometheus.NewDesc(namespace+"_member_replication_lag_bytes",
		"Bytes of WAL a replica has yet to replay to reach the primary's position, as of the last probe.", memberLabels, nil)
	descReady = prometheus.NewDesc(namespace+"_cluster_ready",
		"1 when the cluster's Ready condition is true (every member ready, the primary up), else 0.", clusterLabels, nil)
	descPhase = prometheus.NewDesc(namespace+"_cluster_phase",
		"1, with the cluster's status.phase.", []string{"namespace", "cluster", "phase"}, nil)
	descLastArchived = prometheus.NewDesc(namespace+"_archive_last_archived_timestamp_seconds",
		"When the primary last archived a WAL file (pg_stat_archiver.last_archived_time).", clusterLabels, nil)
	descArchived = prometheus.NewDesc(namespace+"_archive_archived_total",
		"WAL files the primary archived (pg_stat_archiver.archived_count; starts over on a new primary).", clusterLabels, nil)
	descArchiveFailed = prometheus.NewDesc(namespace+"_archive_failed_total",
		"Failed attempts to archive WAL on the primary (pg_stat_archiver.failed_count; starts over on a new primary).", clusterLabels, nil)
	descArchivePending = prometheus.NewDesc(namespace+"_archive_pending_wal",
		"WAL files waiting to be archived on the primary.", clusterLabels, nil)
	descArchiveDropped = prometheus.NewDesc(namespace+"_archive_dropped_wal",
		"WAL files dropped unarchived when the archive backlog hit its bound; until the next backup, recovery cannot cross them.",
		clusterLabels, nil)
)

// clusterCollector holds the series of each cluster's latest sample
// (series.go). The three collectors of cluster series (this one,
// statsCollector and customCollector) share it.
type clusterCollector struct {
	mu       sync.Mutex
	clusters map[clusterKey]*clusterSeries
}

type clusterKey struct{ namespace, name string }

func newClusterCollector() *clusterCollector {
	return &clusterCollector{clusters: map[clusterKey]*clusterSeries{}}
}

// ObserveCluster replaces a cluster's sample with its latest pass's. The
// sample's Stats and Custom must not change afterwards: a new read comes
// as new values, which is how it is told from the last.
func (m *Metrics) ObserveCluster(ns, cluster string, s ClusterSample) {
	c, k := m.clusters, clusterKey{ns, cluster}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clusters[k] = newClusterSeries(k, s, c.clusters[k])
}

// ForgetCluster drops every series of a cluster whose actor stopped.
func (m *Metrics) ForgetCluster(ns, cluster string) {
	m.clusters.mu.Lock()
	delete(m.clusters.clusters, clusterKey{ns, cluster})
	m.clusters.mu.Unlock()
	m.operatorMetrics.forget(ns, cluster)
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMemberUp, descMemberRole, descMemberTimeline, descMemberLag,
		descReady, descPhase, descLastArchived, descArchived, descArchiveFailed, descArchivePending, descArchiveDropped} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cs := range c.clusters {
		send(ch, cs.cluster)
	}
}

// clusterMetrics are a sample's series but the members' statistics and
// custom queries'.
func clusterMetrics(k clusterKey, s ClusterSample) []prometheus.Metric {
	var b seriesBuilder
	b.gauge(descReady, boolValue(s.Ready), k.namespace, k.name)
	if s.Phase != "" {
		b.gauge(descPhase, 1, k.namespace, k.name, s.Phase)
	}
	for _, m := range s.Members {
		b.gauge(descMemberUp, boolValue(m.Up), k.namespace, k.name, m.Name)
		role := m.Role
		if role == "" {
			role = roleNone
		}
		b.gauge(descMemberRole, 1, k.namespace, k.name, m.Name, role)
		if m.Up && m.Timeline > 0 {
			b.gauge(descMemberTimeline, float64(m.Timeline), k.namespace, k.name, m.Name)
		}
		if m.LagKnown {
			b.gauge(descMemberLag, float64(m.LagBytes), k.namespace, k.name, m.Name)
		}
	}
	if a := s.Archive; a != nil {
		if !a.LastArchivedTime.IsZero() {
			b.gauge(descLastArchived, float64(a.LastArchivedTime.UnixNano())/1e9, k.namespace, k.name)
		}
		b.counter(descArchived, float64(a.ArchivedCount), k.namespace, k.name)
		b.counter(descArchiveFailed, float64(a.FailedCount), k.namespace, k.name)
		b.gauge(descArchivePending, float64(a.Pending), k.namespace, k.name)
		b.gauge(descArchiveDropped, float64(a.Dropped), k.namespace, k.name)
	}
	return b.out
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
