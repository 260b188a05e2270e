package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// createMember adds a member with a new ordinal. The ordinal is recorded
// in status first, so it is never handed out twice even if the operator
// dies right after; a replica's slot is created before its pod so the
// primary keeps every WAL segment the clone will need.
func (c *Cluster) createMember(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) error {
	if pgc.Status.LastOrdinal < act.ordinal {
		if err := c.writeStatus(ctx, pgc, func(st *v1alpha1.PostgresClusterStatus) { st.LastOrdinal = act.ordinal }); err != nil {
			return err
		}
	}
	if act.role == RoleReplica {
		if err := c.ensureSlot(ctx, pgc, obs, act.member); err != nil {
			return err
		}
	}
	pvc := buildPVC(pgc, act.member)
	claims := c.cfg.Kube.CoreV1().PersistentVolumeClaims(pgc.Namespace)
	_, err := claims.Create(ctx, pvc, metav1.CreateOptions{})
	if err := createdOrOurs(ctx, pgc, "volume claim", pvc.Name, err, func(ctx context.Context, o metav1.ListOptions) (metav1.Object, error) {
		l, err := claims.List(ctx, o)
		if err != nil {
			return nil, err
		}
		return named(l.Items, pvc.Name), nil
	}, relabelWith[*corev1.PersistentVolumeClaim](claims)); err != nil {
		return err // foreign.go: never a pod on another's volume
	}
	c.expectations.expect("pvc", pvc.Name, true, c.cfg.Clock.Now())
	return c.createPod(ctx, pgc, act)
}

// createPod creates a member's pod on its (existing) volume.
func (c *Cluster) createPod(ctx context.Context, pgc *v1alpha1.PostgresCluster, act action) error {
	pod := buildPod(pgc, memberPod{Name: act.member, Role: act.role, Bootstrap: act.bootstrap, Image: c.cfg.imageFor(pgc)})
	pods := c.cfg.Kube.CoreV1().Pods(pgc.Namespace)
	_, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err := createdOrOurs(ctx, pgc, "pod", pod.Name, err, func(ctx context.Context, o metav1.ListOptions) (metav1.Object, error) {
		l, err := pods.List(ctx, o)
		if err != nil {
			return nil, err
		}
		return named(l.Items, pod.Name), nil
	}, relabelWith[*corev1.Pod](pods)); err != nil {
		return err // foreign.go
	}
	c.expectations.expect("pod", pod.Name, true, c.cfg.Clock.Now())
	return nil
}

// removeMember deletes a replica's pod and volume, then its slot. A member
// on a lost node has its pod force-deleted (grace 0): the kubelet of that
// node, which would confirm a graceful deletion, is gone, and the pod would
// hold its name and its claim (by the claim's protection finalizer) for as
// long. Its volume is pinned to that node, so nothing can start on it
// elsewhere (plan_node_lost.go).
func (c *Cluster) removeMember(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) error {
	grace := int64(podDeleteGrace)
	if act.kind == actReplaceLost {
		grace = 0
	}
	if err := c.deletePodWithGrace(ctx, pgc, act.member, grace); err != nil {
		return err
	}
	err := c.cfg.Kube.CoreV1().PersistentVolumeClaims(pgc.Namespace).Delete(ctx, PVCName(act.member), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting volume claim of %s: %w", act.member, err)
	}
	c.expectations.expect("pvc", PVCName(act.member), false, c.cfg.Clock.Now())
	return c.dropSlot(ctx, pgc, obs, act.member)
}

// podDeleteGrace is the grace period of a member's pod deletion: member.sh
// turns SIGTERM into a fast shutdown, which takes well under a second.
const podDeleteGrace = 10

// deletePod deletes a member's pod, with podDeleteGrace.
func (c *Cluster) deletePod(ctx context.Context, pgc *v1alpha1.PostgresCluster, member string) error {
	return c.deletePodWithGrace(ctx, pgc, member, podDeleteGrace)
}

func (c *Cluster) deletePodWithGrace(ctx context.Context, pgc *v1alpha1.PostgresCluster, member string, grace int64) error {
	err := c.cfg.Kube.CoreV1().Pods(pgc.Namespace).Delete(ctx, member, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(grace)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting pod %s: %w", member, err)
	}
	c.expectations.expect("pod", member, false, c.cfg.Clock.Now())
	return nil
}

// ensureSlot creates a member's replication slot on the primary.
func (c *Cluster) ensureSlot(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, member string) error {
	ep, err := primaryEndpoint(pgc, obs)
	if err != nil {
		return err
	}
	return c.cfg.Postgres.EnsureSlot(ctx, ep, postgres.SlotName(member))
}

// dropSlot drops a member's slot on the primary, if there is a primary.
func (c *Cluster) dropSlot(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, member string) error {
	ep, err := primaryEndpoint(pgc, obs)
	if err != nil {
		return nil // no primary to hold a slot; a later pass cleans up
	}
	return c.cfg.Postgres.DropSlot(ctx, ep, postgres.SlotName(member))
}

func primaryEndpoint(pgc *v1alpha1.PostgresCluster, obs *observation) (postgres.Endpoint, error) {
	p := obs.members.primary()
	pw, ok := obs.superuserPassword(pgc.Name)
	if p == nil || !p.running() || !ok {
		return postgres.Endpoint{}, fmt.Errorf("no running primary")
	}
	return endpoint(p, pw), nil
}
