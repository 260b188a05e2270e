package main

import (
	"context"
	"testing"

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
			Images: []corev1.ContainerImage{{Names: []string{"postgres:15"}}}},
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
}
