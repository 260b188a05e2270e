package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// newPauseCmd builds `pause` (paused true) or `resume` (false).
func newPauseCmd(a *app, paused bool) *cobra.Command {
	use, short := "resume CLUSTER", "Let the operator act on the cluster again (spec.paused: false)"
	if paused {
		use, short = "pause CLUSTER", "Stop every action of the operator on the cluster (spec.paused: true), for maintenance"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.setPaused(cmd.Context(), args[0], paused); err != nil {
				return err
			}
			verb := "resumed"
			if paused {
				verb = "paused: the operator takes no action on it until `kubectl pgc resume`"
			}
			fmt.Fprintf(a.streams.Out, "postgrescluster %s/%s %s\n", a.ns, args[0], verb)
			return nil
		},
	}
}

// setPaused merge-patches spec.paused alone, so a concurrent change of
// any other field (a kubectl apply, a scale) is never overwritten.
func (a *app) setPaused(ctx context.Context, name string, paused bool) error {
	if err := a.connect(); err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"paused": paused}})
	if err != nil {
		return err
	}
	_, err = a.pg.PostgresV1alpha1().PostgresClusters(a.ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("patching PostgresCluster %s/%s: %w", a.ns, name, err)
	}
	return nil
}
