package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// promoteWait bounds pg_promote(); PostgreSQL 15 may first sleep out
// wal_retrieve_retry_interval when streaming just broke.
const promoteWait = 10 * time.Second

// fenceGrace is the grace period of a fenced primary's pod: long enough
// for a fast shutdown to send its last WAL to the replicas (a clean
// switchover), short enough that a hung primary is killed quickly. The pod
// is gone from the API only once the kubelet has stopped it, which is the
// confirmation promotion waits for.
const fenceGrace = 3

// fence takes the primary out of service: one patch removes its role label
// (so -rw selects nothing) and marks it fenced; then its pod is deleted.
func (c *Cluster) fence(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) error {
	return c.fenceWithGrace(ctx, pgc, obs, act.member, fenceGrace)
}

func (c *Cluster) fenceWithGrace(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, member string, grace int64) error {
	m := obs.members.byName(member)
	if m == nil || m.pod == nil {
		return nil
	}
	if !m.fenced() || m.role() != "" {
		patch := map[string]any{"metadata": map[string]any{
			"labels":      map[string]any{RoleLabel: nil},
			"annotations": map[string]any{FencedAnnotation: "true"},
		}}
		if err := c.patchPod(ctx, pgc.Namespace, m.name, patch); apierrors.IsNotFound(err) {
			return nil // already gone: the lister had not seen it yet
		} else if err != nil {
			return err
		}
	}
	if m.pod.DeletionTimestamp != nil {
		return nil
	}
	err := c.cfg.Kube.CoreV1().Pods(pgc.Namespace).Delete(ctx, m.name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To(grace),
		Preconditions:      &metav1.Preconditions{UID: &m.pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting fenced pod %s: %w", m.name, err)
	}
	return nil
}

// promote makes the chosen replica the primary. Before pg_promote it gets
// the slots of the other members and the synchronous standby names it will
// need, so replicas reconnect and sync commits resume without waiting for
// another pass.
func (c *Cluster) promote(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) error {
	m := obs.members.byName(act.member)
	pw, ok := obs.superuserPassword(pgc.Name)
	if m == nil || !m.running() || !ok {
		return fmt.Errorf("candidate %s is not running", act.member)
	}
	ep := endpoint(m, pw)
	var others []string
	for _, o := range obs.members.live() {
		if o != m && !obs.isForeign(o.name) { // another database gets no slot (safety_identity.go)
			others = append(others, o.name)
			if err := c.cfg.Postgres.EnsureSlot(ctx, ep, postgres.SlotName(o.name)); err != nil {
				return err
			}
		}
	}
	sync := ""
	if pgc.Spec.Replication.Mode == v1alpha1.ReplicationSync && len(others) > 0 {
		sync = postgres.SyncStandbyNames(1, others)
	}
	if err := c.cfg.Postgres.SetSynchronousStandbyNames(ctx, ep, sync); err != nil {
		return err
	}
	start := time.Now()
	if err := c.cfg.Postgres.Promote(ctx, ep, promoteWait); err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Promoted", "member", m.name, "took", time.Since(start).Round(time.Millisecond))
	// The standbys first: in sync mode the first commit waits for one of them.
	c.repointReplicas(ctx, pgc, obs, m)
	if err := c.labelPrimary(ctx, pgc, m.name); err != nil {
		return err
	}
	c.handoverDone(pgc) // metrics.go: writes flow to the new primary

	// Writes already flow; the checkpoint puts the new timeline into
	// pg_control, which the old primary's pg_rewind reads.
	return c.cfg.Postgres.Checkpoint(ctx, ep)
}

// labelPrimary routes -rw to the member and records it as the primary.
func (c *Cluster) labelPrimary(ctx context.Context, pgc *v1alpha1.PostgresCluster, member string) error {
	patch := map[string]any{"metadata": map[string]any{"labels": map[string]any{RoleLabel: RolePrimary}}}
	if err := c.patchPod(ctx, pgc.Namespace, member, patch); err != nil {
		return err
	}
	return c.writeStatus(ctx, pgc, func(st *v1alpha1.PostgresClusterStatus) {
		st.Primary, st.SwitchoverTarget = member, ""
	})
}

func (c *Cluster) patchPod(ctx context.Context, namespace, name string, patch map[string]any) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = c.cfg.Kube.CoreV1().Pods(namespace).Patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("patching pod %s: %w", name, err)
	}
	return nil
}
