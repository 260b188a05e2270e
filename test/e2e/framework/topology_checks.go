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
	if err := tp.streaming(primary.IP, replicas, sync); err != nil {
		return fmt.Errorf("on primary %s: %w", primary.Name, err)
	}
	return tp.clusterReady(size)
}

// streaming checks pg_stat_replication on the primary: one streaming row
// per replica, nothing else.
func (tp *Topology) streaming(primaryIP string, replicas []string, sync bool) error {
	rows, err := queryRows(primaryIP, tp.pw, "select application_name, state, sync_state from pg_stat_replication order by 1")
	if err != nil {
		return err
	}
	var names []string
	for _, r := range rows {
		names = append(names, r[0])
		if r[1] != "streaming" {
			return fmt.Errorf("standby %s is %s, not streaming", r[0], r[1])
		}
		if sync && r[2] != "quorum" && r[2] != "sync" {
			return fmt.Errorf("sync mode, but standby %s is %s", r[0], r[2])
		}
	}
	slices.Sort(replicas)
	if !slices.Equal(names, replicas) {
		return fmt.Errorf("streaming standbys %v, want %v", names, replicas)
	}
	return nil
}

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
