package cluster

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// member is one observed member: its pod and volume as the listers see
// them, and what its PostgreSQL answered to a probe this pass.
type member struct {
	name    string
	ordinal int32
	pod     *corev1.Pod                   // nil when the pod does not exist
	pvc     *corev1.PersistentVolumeClaim // nil when the volume does not exist
	db      *postgres.Status              // nil when not probed or unreachable
	dbErr   error                         // why the probe failed, if it did
	login   string                        // the superuser password it accepted (observe.go)
	// answeredAt is when its probe answered, on the actor's clock: the
	// moment the ages it reported count back from (zero: not probed).
	answeredAt time.Time
	tls        *postgres.TLS // how to connect to it; nil: plain text (observe_tls.go)
	// seenTimeline is the newest timeline this pod's reports have shown
	// (safety_timeline.go).
	seenTimeline uint32
	// replayedBefore is what this pod reported replaying as a standby in
	// the actor's earlier passes (safety_replayed.go).
	replayedBefore replayed
}

// role is the role label of the member's pod ("" without a pod).
func (m *member) role() string {
	if m.pod == nil {
		return ""
	}
	return m.pod.Labels[RoleLabel]
}

// hasPod reports whether a pod exists that is not being deleted.
func (m *member) hasPod() bool { return m.pod != nil && m.pod.DeletionTimestamp == nil }

// hasVolume reports whether the data volume exists and is not being deleted.
func (m *member) hasVolume() bool { return m.pvc != nil && m.pvc.DeletionTimestamp == nil }

// podReady reports the pod's Ready condition.
func (m *member) podReady() bool {
	if !m.hasPod() {
		return false
	}
	for _, c := range m.pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// running reports whether the pod has an IP and a running container, so
// its PostgreSQL can be probed.
func (m *member) running() bool {
	return m.hasPod() && m.pod.Status.Phase == corev1.PodRunning && m.pod.Status.PodIP != ""
}

// isPrimary reports whether the member answers as a primary.
func (m *member) isPrimary() bool { return m.db != nil && !m.db.InRecovery }

// streaming reports whether the member is a standby whose WAL receiver
// reads "streaming": it is connected to a primary and hears from it.
func (m *member) streaming() bool { return m.db != nil && m.db.InRecovery && m.db.Streaming() }

// caughtUp reports whether the standby streams and has received all it
// replayed: the readiness probe's rule (pod.go). A receiver that reads
// streaming but stays behind its own replay never got that WAL from this
// primary (its history left the primary's, or it has not caught up yet).
func (m *member) caughtUp() bool { return m.streaming() && m.db.ReceivedLSN >= m.db.ReplayedLSN }

// healthy: pod ready and PostgreSQL answering in the role it is labelled
// with. A member labelled diverged serves in no role (plan_diverged.go).
func (m *member) healthy() bool {
	if !m.podReady() || m.db == nil || m.role() == RoleDiverged {
		return false
	}
	if m.role() == RolePrimary {
		return m.isPrimary()
	}
	return m.streaming()
}

// members is the observed membership, sorted by ordinal.
type members []*member

func (ms members) byName(name string) *member {
	i := slices.IndexFunc(ms, func(m *member) bool { return m.name == name })
	if i < 0 {
		return nil
	}
	return ms[i]
}

// primary returns the member whose live pod is labelled primary, or nil.
func (ms members) primary() *member {
	for _, m := range ms {
		if m.hasPod() && m.role() == RolePrimary {
			return m
		}
	}
	return nil
}

// live are members with a volume or a pod that is not being deleted.
func (ms members) live() members {
	return slices.DeleteFunc(slices.Clone(ms), func(m *member) bool { return !m.hasVolume() && !m.hasPod() })
}

func (ms members) maxOrdinal() int32 {
	var n int32
	for _, m := range ms {
		n = max(n, m.ordinal)
	}
	return n
}
