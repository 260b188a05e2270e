package cluster

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// Metrics receives what the actors measure. cmd/postgres-operator hands it
// to pkg/metrics (Prometheus); without one (Config.Metrics nil) nothing is
// measured. Implementations are safe for concurrent use: every actor calls
// the same one.
type Metrics interface {
	// PassDone: a reconcile pass ended with outcome (PassOK, PassError or
	// PassPanic) after d.
	PassDone(outcome string, d time.Duration)
	// ActionApplied: an action of this kind was applied (the "Action
	// applied" log line and the Event of that reason).
	ActionApplied(kind string)
	// FailoverDone and SwitchoverDone: a new primary was promoted and
	// routed to, d after the decision (the old primary fenced, or the
	// switchover begun). d is 0 when an earlier operator process decided.
	FailoverDone(namespace, cluster string, d time.Duration)
	SwitchoverDone(namespace, cluster string, d time.Duration)
	// ObserveCluster replaces what is known of a cluster with its last
	// pass's sample.
	ObserveCluster(namespace, cluster string, s Sample)
	// ForgetCluster drops a cluster whose actor stopped.
	ForgetCluster(namespace, cluster string)
}

// The outcomes of a pass.
const (
	PassOK    = "ok"
	PassError = "error"
	PassPanic = "panic"
)

// Sample is what a pass observed of its cluster, for metrics.
type Sample struct {
	Ready   bool   // the Ready condition
	Phase   string // status.phase
	Members []MemberSample
	// Archive is nil while backups are off or the archiver was never read;
	// a pass that could not read it repeats the last one read.
	Archive *ArchiveSample
}

// MemberSample is one live member.
type MemberSample struct {
	Name     string
	Up       bool   // its PostgreSQL answered this pass's probe
	Role     string // its pod's role label ("" without a pod, or fenced)
	Timeline uint32 // 0 when not up
	// LagBytes is a replica's replay lag behind the primary, when LagKnown.
	LagBytes int64
	LagKnown bool
	// Stats and Custom are the member's statistics and custom queries as
	// last read (stats.go); nil before the first read, or once stale.
	Stats  *postgres.MemberStats
	Custom []postgres.CustomResult
}

// ArchiveSample is the primary's WAL archiver.
type ArchiveSample struct {
	LastArchivedTime time.Time
	ArchivedCount    int64
	FailedCount      int64
	Pending          int64
	Dropped          int64
}

type noMetrics struct{}

func (noMetrics) PassDone(string, time.Duration)               {}
func (noMetrics) ActionApplied(string)                         {}
func (noMetrics) FailoverDone(string, string, time.Duration)   {}
func (noMetrics) SwitchoverDone(string, string, time.Duration) {}
func (noMetrics) ObserveCluster(string, string, Sample)        {}
func (noMetrics) ForgetCluster(string, string)                 {}

// metrics is cfg.Metrics, or one that does nothing.
func (cfg *Config) metrics() Metrics {
	if cfg.Metrics == nil {
		return noMetrics{}
	}
	return cfg.Metrics
}

// handover is a change of primary in progress, as this actor decided it:
// since when, and whether it is a switchover. In memory only: after an
// operator restart the change is still counted, without its duration.
type handover struct {
	since      time.Time
	switchover bool
}

// handoverBegins remembers the decision of a successful fence or
// switchover action. A fence that follows a switchover, or repeats, is part
// of the change already begun.
func (c *Cluster) handoverBegins(kind actionKind) {
	switch {
	case kind == actSwitchover:
		c.handover = handover{since: c.cfg.Clock.Now(), switchover: true}
	case kind == actFence && c.handover.since.IsZero():
		c.handover = handover{since: c.cfg.Clock.Now()}
	}
}

// handoverDone reports a promoted member routed to as the primary. A
// recorded switchover target says it was a switchover even when this actor
// did not see it begin.
func (c *Cluster) handoverDone(pgc *v1alpha1.PostgresCluster) {
	var d time.Duration
	if !c.handover.since.IsZero() {
		d = max(c.cfg.Clock.Since(c.handover.since), time.Nanosecond)
	}
	if c.handover.switchover || pgc.Status.SwitchoverTarget != "" {
		c.cfg.metrics().SwitchoverDone(pgc.Namespace, pgc.Name, d)
	} else {
		c.cfg.metrics().FailoverDone(pgc.Namespace, pgc.Name, d)
	}
	c.handover = handover{}
}

// handoverSettled forgets a change begun but ended without a promotion
// (the old primary restarted on its volume): a healthy labelled primary
// is there again.
func (c *Cluster) handoverSettled(obs *observation) {
	if p := obs.members.primary(); p != nil && p.healthy() {
		c.handover = handover{}
	}
}

// observeMetrics hands this pass's sample to the metrics.
func (c *Cluster) observeMetrics(pgc *v1alpha1.PostgresCluster, obs *observation, st *v1alpha1.PostgresClusterStatus) {
	m := c.cfg.metrics()
	if _, off := m.(noMetrics); off {
		return
	}
	s := Sample{Ready: meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady), Phase: string(st.Phase)}
	primary := obs.members.primary()
	for _, mb := range obs.members.live() {
		ms := MemberSample{Name: mb.name, Up: mb.db != nil, Role: mb.role()}
		if mb.db != nil {
			ms.Timeline = mb.db.Timeline
		}
		ms.LagBytes, ms.LagKnown = lagBytes(mb, primary)
		s.Members = append(s.Members, ms)
	}
	switch a := obs.backup.archiver; {
	case pgc.Spec.Backup == nil:
		c.lastArchive = nil
	case a != nil:
		c.lastArchive = &ArchiveSample{LastArchivedTime: a.LastArchivedTime, ArchivedCount: a.ArchivedCount,
			FailedCount: a.FailedCount, Pending: a.Pending, Dropped: a.Dropped}
	}
	s.Archive = c.lastArchive
	c.attachStats(obs, &s) // stats.go
	m.ObserveCluster(pgc.Namespace, pgc.Name, s)
}
