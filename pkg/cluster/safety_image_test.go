package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func TestImageNotices(t *testing.T) {
	terminated := podTerminatedWith
	pgc := &v1alpha1.PostgresCluster{Spec: v1alpha1.PostgresClusterSpec{PostgresVersion: 15}}
	for _, tc := range []struct {
		name   string
		pod    *corev1.Pod
		notice bool
	}{
		{"no pod", nil, false},
		{"a crash for another reason", terminated("killed"), false},
		{"the image refused", terminated(imageMismatchPrefix + "the image runs PostgreSQL 16, the cluster is PostgreSQL 15 and its data directory 15\n"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := planInput{cluster: pgc, obs: &observation{members: members{{name: "demo-2", pod: tc.pod}}}}
			got := imageNotices(in)
			if !tc.notice {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				n := got[0]
				assert.Equal(t, v1alpha1.ConditionDegraded, n.condition)
				assert.Equal(t, metav1.ConditionTrue, n.status)
				assert.Equal(t, "ImageVersionMismatch", n.reason)
				assert.Contains(t, n.message, "demo-2 did not start: the image runs PostgreSQL 16")
				assert.Contains(t, n.message, "Set spec.image to a PostgreSQL 15 image")
			}
		})
	}
}

// podTerminatedWith is a member pod whose postgres container exited with
// the given termination message.
func podTerminatedWith(msg string) *corev1.Pod {
	return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
		Name: containerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Message: msg}},
	}}}}
}
