//go:build e2e

package framework

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// probePodImage is the local cluster's own pause image: always present on
// the node, never pulled.
const probePodImage = "localhost/pause:3.10"

// WaitScheduling proves that a new pod is scheduled and started: it creates
// a pause pod in the namespace and waits until it runs. After an API server
// restart the scheduler's reflectors can back off for a minute or more (a
// freshly started API server answers 403 until its authorizers have synced),
// and a member pod the operator creates meanwhile stays Pending: a fault
// injected in that window would measure the scheduler, not the operator.
// It returns how long it took.
func (tp *Topology) WaitScheduling(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pods := tp.f.Kube.CoreV1().Pods(tp.ns)
	pod, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-scheduling-probe-"},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{{Name: "pause", Image: probePodImage, ImagePullPolicy: corev1.PullNever}},
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			RestartPolicy:                 corev1.RestartPolicyNever,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return 0, fmt.Errorf("creating the scheduling probe pod: %w", err)
	}
	defer func() {
		_ = pods.Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	}()
	for ctx.Err() == nil {
		got, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err == nil && got.Status.Phase == corev1.PodRunning {
			return time.Since(start), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("the scheduling probe pod %s did not run within %s", pod.Name, timeout)
}
