package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/cluster"
)

func newRestartCmd(a *app) *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "restart CLUSTER [--wait]",
		Short: "Rolling restart: every member once, replicas first, the primary last by a switchover",
		Long: "restart stamps the postgres-operator.dev/restart annotation with the time; the operator restarts\n" +
			"each member once for each new value, as it rolls a change of image.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.restart(cmd.Context(), args[0], wait, timeout)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every member has restarted and the cluster is Running")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	return cmd
}

// restart stamps the restart annotation with the time of the request:
// each request is a value the operator has not seen.
func (a *app) restart(ctx context.Context, name string, wait bool, timeout time.Duration) error {
	pgc, err := a.cluster(ctx, name)
	if err != nil {
		return err
	}
	stamp := a.now().UTC().Format(time.RFC3339)
	if pgc.Annotations[v1alpha1.RestartAnnotation] == stamp {
		return fmt.Errorf("a restart of %s was asked for at %s already", name, stamp)
	}
	before, err := a.memberPodUIDs(ctx, name)
	if err != nil {
		return err
	}
	if err := a.annotate(ctx, name, v1alpha1.RestartAnnotation, stamp); err != nil {
		return err
	}
	fmt.Fprintf(a.streams.Out, "asked postgrescluster %s/%s for a rolling restart (%s=%s)\n", a.ns, name, v1alpha1.RestartAnnotation, stamp)
	if pgc.Spec.Paused {
		fmt.Fprintf(a.streams.Out, "%s is paused: the restart begins when it is resumed\n", name)
	}
	if !wait {
		return nil
	}
	return a.waitRestarted(ctx, name, before, timeout)
}

// memberPodUIDs are the UIDs of the cluster's member pods: a restarted
// member is a new pod, so a UID that is gone is a member restarted.
func (a *app) memberPodUIDs(ctx context.Context, name string) (map[string]types.UID, error) {
	pods, err := a.kube.CoreV1().Pods(a.ns).List(ctx, metav1.ListOptions{LabelSelector: cluster.ClusterLabel + "=" + name + "," + cluster.MemberLabel})
	if err != nil {
		return nil, fmt.Errorf("listing the members of %s: %w", name, err)
	}
	uids := map[string]types.UID{}
	for _, p := range pods.Items {
		uids[p.Name] = p.UID
	}
	return uids, nil
}

// waitRestarted polls until no pod of before is left and the cluster is
// Running with every member ready.
func (a *app) waitRestarted(ctx context.Context, name string, before map[string]types.UID, timeout time.Duration) error {
	start := a.now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		left, ready := a.restartProgress(ctx, name, before)
		if left == 0 && ready {
			fmt.Fprintf(a.streams.Out, "every member of %s restarted in %s\n", name, a.now().Sub(start).Round(10*time.Millisecond))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s: %d of %d members not restarted yet (kubectl pgc status %s)", timeout, left, len(before), name)
		case <-time.After(a.poll):
		}
	}
}

// restartProgress counts the members still on their old pod, and whether
// the cluster is Running with every member ready. Errors count as "not
// yet": the next poll tries again.
func (a *app) restartProgress(ctx context.Context, name string, before map[string]types.UID) (left int, ready bool) {
	now, err := a.memberPodUIDs(ctx, name)
	if err != nil {
		return len(before), false
	}
	for member, uid := range before {
		if now[member] == uid {
			left++
		}
	}
	pgc, err := a.pg.PostgresV1alpha1().PostgresClusters(a.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return left, false
	}
	st := pgc.Status
	return left, st.Phase == v1alpha1.PhaseRunning && st.ReadyMembers == pgc.Spec.Size && st.ObservedGeneration == pgc.Generation
}
