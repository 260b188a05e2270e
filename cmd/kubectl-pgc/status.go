package main

import (
	"context"
	"slices"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

func newStatusCmd(a *app) *cobra.Command {
	events := 5
	cmd := &cobra.Command{
		Use:   "status CLUSTER",
		Short: "One screen: phase, primary, members and lag, conditions, switchover, backups, recent Events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pgc, err := a.cluster(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			v := statusView{cluster: pgc, now: a.now(), showEvents: events}
			if events > 0 {
				v.events = a.clusterEvents(cmd.Context(), args[0])
			}
			renderStatus(a.streams.Out, v, painter(a.wantColor(a.streams.Out)))
			return nil
		},
	}
	cmd.Flags().IntVar(&events, "events", events, "how many of the cluster's most recent Events to show (0: none)")
	return cmd
}

// clusterEvents lists the Events about the cluster, oldest first. Events
// are a help, not the status: a user without the right to list them
// still gets the rest of the screen, so an error gives no Events.
func (a *app) clusterEvents(ctx context.Context, name string) []corev1.Event {
	sel := fields.Set{"involvedObject.name": name, "involvedObject.kind": "PostgresCluster"}.AsSelector().String()
	list, err := a.kube.CoreV1().Events(a.ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil
	}
	var out []corev1.Event
	for _, e := range list.Items {
		// The API server applies the selector; the check keeps a client
		// that ignores it (the fake clientset) honest.
		if e.InvolvedObject.Name == name && e.InvolvedObject.Kind == "PostgresCluster" {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(x, y corev1.Event) int { return eventTime(&x).Compare(eventTime(&y)) })
	return out
}

// eventTime is when an Event last happened, whichever API wrote it.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// lastEvent is the newest Event with the given reason, or nil.
func lastEvent(events []corev1.Event, reason string) *corev1.Event {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Reason == reason {
			return &events[i]
		}
	}
	return nil
}
