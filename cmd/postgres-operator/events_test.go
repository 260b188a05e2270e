package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

func clusterEvent(reason string, i int) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("e%d", i), Namespace: "ns"},
		InvolvedObject: corev1.ObjectReference{Kind: "PostgresCluster", Namespace: "ns", Name: "db", UID: "u1"},
		Source:         corev1.EventSource{Component: "postgres-operator", Host: "op-1"},
		Type:           corev1.EventTypeNormal,
		Reason:         reason,
		Message:        fmt.Sprintf("%s number %d", reason, i),
	}
}

// A cluster that has sent many Events of other reasons still gets its
// Promote Event through (client-go's default bucket per object dropped it).
func TestPromoteEventAfterManyOtherEvents(t *testing.T) {
	opts := eventCorrelation()
	opts.Clock = clocktesting.NewFakeClock(time.Now())
	c := record.NewEventCorrelatorWithOptions(opts)
	for i := range 40 {
		_, err := c.EventCorrelate(clusterEvent([]string{"MemberCreated", "RollingUpdate"}[i%2], i))
		require.NoError(t, err)
	}
	got, err := c.EventCorrelate(clusterEvent("Promote", 99))
	require.NoError(t, err)
	require.False(t, got.Skip, "the Promote Event was dropped")
}

// One reason sent in a loop is still held down, and refilled with time.
func TestLoopingReasonIsHeldDown(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Now())
	opts := eventCorrelation()
	opts.Clock = clock
	c := record.NewEventCorrelatorWithOptions(opts)
	sent := 0
	for i := range 100 {
		got, err := c.EventCorrelate(clusterEvent("InvalidSpec", i))
		require.NoError(t, err)
		if !got.Skip {
			sent++
		}
	}
	require.Equal(t, eventBurstPerReason, sent)

	clock.Step(time.Minute)
	got, err := c.EventCorrelate(clusterEvent("InvalidSpec", 100))
	require.NoError(t, err)
	require.False(t, got.Skip, "a minute later the reason has tokens again")
}
