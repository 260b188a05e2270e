package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
)

func memberPod(name, uid string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "db", UID: types.UID(uid),
		Labels: map[string]string{"postgres-operator.dev/cluster": "demo", "postgres-operator.dev/member": name}}}
}

func TestRestartStampsTheAnnotation(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()})
	require.NoError(t, e.exec("restart", "demo"))
	assert.Equal(t, []string{`{"metadata":{"annotations":{"postgres-operator.dev/restart":"2026-12-01T12:00:00Z"}}}`}, e.patches(t))
	assert.Equal(t, "asked postgrescluster db/demo for a rolling restart (postgres-operator.dev/restart=2026-12-01T12:00:00Z)\n", e.out.String())
}

func TestRestartTwiceInOneSecondIsRefused(t *testing.T) {
	pgc := demo()
	pgc.Annotations = map[string]string{"postgres-operator.dev/restart": "2026-12-01T12:00:00Z"}
	e := newTestEnv(t, []runtime.Object{pgc})
	require.Error(t, e.exec("restart", "demo"))
	assert.Empty(t, e.patches(t))
}

// --wait returns once every member is a new pod and the cluster is Running.
func TestRestartWaitsForEveryMember(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()}, memberPod("demo-1", "a"), memberPod("demo-2", "b"))
	lists := 0
	e.kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		// The operator replaces demo-2, then demo-1 (by a switchover).
		if lists++; lists == 3 {
			require.NoError(t, e.kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), memberPod("demo-2", "c"), "db"))
		} else if lists == 5 {
			require.NoError(t, e.kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), memberPod("demo-1", "d"), "db"))
		}
		return false, nil, nil
	})
	require.NoError(t, e.exec("restart", "demo", "--wait"))
	assert.Contains(t, e.out.String(), "every member of demo restarted in ")
	assert.GreaterOrEqual(t, lists, 5)
}

func TestRestartWaitTimesOut(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()}, memberPod("demo-1", "a"), memberPod("demo-2", "b"))
	err := e.exec("restart", "demo", "--wait", "--timeout", "20ms")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "2 of 2 members not restarted yet")
}
