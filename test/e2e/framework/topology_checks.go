//go:build e2e

package framework

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Converged returns nil once the cluster is whole again: size member pods,
// none of them being deleted and none of them a pod in gone (UIDs a fault
// killed, so a status from before the fault cannot pass for recovery);
// exactly one primary by label and by PostgreSQL's answer; every other
// member streaming from it (in sync mode as a quorum standby); and the
// cluster's status Ready. Otherwise the error says what is missing.
func (tp *Topology) Converged(size int, gone map[string]bool, sync bool) error {
	s := tp.Sample()
	if s.Stale {
		return fmt.Errorf("the API server does not answer")
	}
	var replicas []string
	for _, m := range s.Members {
		switch {
		case gone[m.UID]:
			return fmt.Errorf("pod %s (uid %s) that the fault hit is still there", m.Name, m.UID)
		case m.Terminating:
			return fmt.Errorf("pod %s is being deleted", m.Name)
		case !m.Labelled:
			replicas = append(replicas, m.Name)
		}
	}
	if len(s.Members) != size {
		return fmt.Errorf("%d member pods, want %d: %s", len(s.Members), size, s)
	}
	primary, ok := s.OnePrimary()
	if !ok {
		return fmt.Errorf("not exactly one primary: %s", s)
	}
	if err := tp.streaming(primary, replicas, sync); err != nil {
		return fmt.Errorf("on primary %s: %w", primary.Name, err)
	}
	return tp.clusterReady(size)
}

// streamLook is one reading of pg_stat_replication on the primary.
type streamLook struct {
	primary string
	pids    map[string]string // walsender PID by standby
	flush   map[string]uint64 // flushed LSN by standby
	current uint64            // the primary's WAL position
}

// streaming checks pg_stat_replication on the primary: one streaming row
// per replica, nothing else, and a stream that lasts and advances. One
// look is not enough: a standby that diverged from the primary's timeline
// reconnects in a loop and shows as "streaming" for a moment each time. So
// a replica counts as streaming when two looks in a row show the same
// walsender, and the second one has flushed at least what the primary had
// written at the first.
func (tp *Topology) streaming(primary MemberView, replicas []string, sync bool) error {
	rows, err := queryRows(primary.IP, tp.pw, `select coalesce(r.application_name, ''), r.state, r.sync_state, r.pid,
		r.flush_lsn::text, c.lsn::text from (select pg_current_wal_lsn() lsn) c left join pg_stat_replication r on true order by 1`)
	if err != nil {
		return err
	}
	look := streamLook{primary: primary.Name, pids: map[string]string{}, flush: map[string]uint64{}}
	var names []string
	for _, r := range rows {
		look.current = parseLSN(r[5])
		if r[0] == "" {
			continue // no standby at all
		}
		names = append(names, r[0])
		if r[1] != "streaming" {
			return fmt.Errorf("standby %s is %s, not streaming", r[0], r[1])
		}
		if sync && r[2] != "quorum" && r[2] != "sync" {
			return fmt.Errorf("sync mode, but standby %s is %s", r[0], r[2])
		}
		look.pids[r[0]], look.flush[r[0]] = r[3], parseLSN(r[4])
	}
	slices.Sort(replicas)
	if !slices.Equal(names, replicas) {
		return fmt.Errorf("streaming standbys %v, want %v", names, replicas)
	}
	tp.mu.Lock()
	prev := tp.lastLook
	tp.lastLook = look
	tp.mu.Unlock()
	if prev.primary != look.primary {
		return fmt.Errorf("streaming: taking a second look")
	}
	for _, name := range names {
		if prev.pids[name] != look.pids[name] {
			return fmt.Errorf("standby %s reconnected (walsender %s, then %s)", name, prev.pids[name], look.pids[name])
		}
		if look.flush[name] < prev.current {
			return fmt.Errorf("standby %s has flushed %s, less than the primary had written a look ago (%s)", name,
				formatLSN(look.flush[name]), formatLSN(prev.current))
		}
	}
	return nil
}

// parseLSN parses PostgreSQL's "hi/lo" hexadecimal WAL positions; a NULL
// (empty) position is zero.
func parseLSN(s string) uint64 {
	var hi, lo uint64
	if _, err := fmt.Sscanf(s, "%X/%X", &hi, &lo); err != nil {
		return 0
	}
	return hi<<32 | lo
}

func formatLSN(l uint64) string { return fmt.Sprintf("%X/%X", l>>32, l&0xFFFFFFFF) }

// clusterReady checks the PostgresCluster's status.
func (tp *Topology) clusterReady(size int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pgc, err := tp.f.PG.PostgresV1alpha1().PostgresClusters(tp.ns).Get(ctx, tp.cluster, metav1.GetOptions{})
	if err != nil {
		return err
	}
	st := pgc.Status
	if !meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady) || st.ReadyMembers != int32(size) ||
		st.Phase != v1alpha1.PhaseRunning || st.ObservedGeneration != pgc.Generation {
		return fmt.Errorf("cluster status: phase=%s ready=%d/%d observed=%d/%d", st.Phase, st.ReadyMembers, size,
			st.ObservedGeneration, pgc.Generation)
	}
	return nil
}

// SyncStandbyNames reads synchronous_standby_names on the primary.
func (tp *Topology) SyncStandbyNames() (string, error) {
	s := tp.Sample()
	p, ok := s.OnePrimary()
	if !ok {
		return "", fmt.Errorf("not exactly one primary: %s", s)
	}
	rows, err := queryRows(p.IP, tp.pw, "show synchronous_standby_names")
	if err != nil {
		return "", err
	}
	return rows[0][0], nil
}
