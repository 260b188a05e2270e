//go:build e2e

package framework

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOperatorMayRun(t *testing.T) {
	deleting := &metav1.Time{}
	running := corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	creating := corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	ended := corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}
	pod := func(del *metav1.Time, cs ...corev1.ContainerStatus) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: del}, Status: corev1.PodStatus{ContainerStatuses: cs}}
	}
	assert.True(t, operatorMayRun(pod(nil, creating)), "not being deleted: may still start")
	assert.True(t, operatorMayRun(pod(deleting, running)), "being deleted, still running")
	assert.False(t, operatorMayRun(pod(deleting, creating)), "being deleted, never started")
	assert.False(t, operatorMayRun(pod(deleting, ended)), "being deleted, ended")
	assert.False(t, operatorMayRun(pod(deleting)), "being deleted, no container reported")
}
