package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestNodesAreOptional(t *testing.T) {
	allowed := fake.NewClientset()
	inf, start := nodeInformer(context.Background(), allowed)
	assert.NotNil(t, inf)
	assert.NotNil(t, start)

	forbidden := fake.NewClientset()
	forbidden.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("nodes"), "", nil)
	})
	inf, start = nodeInformer(context.Background(), forbidden)
	assert.Nil(t, inf, "a namespaced install runs without nodes")
	assert.Nil(t, start)
}

func TestSlimNodeKeepsWhatTheOperatorReads(t *testing.T) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n", ResourceVersion: "7", Labels: map[string]string{"a": "b"}},
		Spec: corev1.NodeSpec{Unschedulable: true, PodCIDR: "10.0.0.0/24",
			Taints: []corev1.Taint{{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")},
			Images: []corev1.ContainerImage{{Names: []string{"postgres:15"}}},
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
				{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status.",
					LastHeartbeatTime: metav1.NewTime(time.Unix(100, 0)), LastTransitionTime: metav1.NewTime(time.Unix(140, 0))},
			}},
	}
	got, err := slimNode(node)
	require.NoError(t, err)
	slim := got.(*corev1.Node)
	assert.Equal(t, "n", slim.Name)
	assert.Equal(t, "7", slim.ResourceVersion, "its identity is kept")
	assert.Equal(t, node.Spec.Taints, slim.Spec.Taints)
	assert.True(t, slim.Spec.Unschedulable)
	assert.Empty(t, slim.Status.Images)
	assert.Empty(t, slim.Labels)
	// Whether it is Ready, since when: a replica on a lost node is replaced
	// (pkg/cluster/observe_node_lost.go). Not the heartbeat, which changes
	// with every report.
	assert.Equal(t, []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown",
		LastTransitionTime: metav1.NewTime(time.Unix(140, 0))}}, slim.Status.Conditions)
}
