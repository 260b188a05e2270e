//go:build e2e

package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// canaryLabel marks the one member pod the routing canary Service selects.
const canaryLabel = "e2e.postgres-operator.dev/canary"

// WaitServiceRouting proves that a label change on a pod reaches the
// node's Service routing: it moves the canary label to another member
// pod and waits until a connection to the canary Service lands on that
// pod. After an API server restart the endpoint controller and kube-proxy
// may take up to a minute to watch again (their reflectors back off while
// a freshly started API server still answers 403), and until then every
// Service, the cluster's -rw among them, routes to where it did before. A
// fault injected in that window would measure the infrastructure, not the
// operator. It returns how long the change took.
func (tp *Topology) WaitServiceRouting(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	ip, err := tp.canaryService()
	if err != nil {
		return 0, err
	}
	target, err := tp.moveCanary()
	if err != nil {
		return 0, err
	}
	for time.Since(start) < timeout {
		rows, err := queryRows(ip, tp.pw, "select host(inet_server_addr())")
		if err == nil && len(rows) == 1 && rows[0][0] == target.Status.PodIP {
			return time.Since(start), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("the canary Service did not route to %s (%s) within %s", target.Name, target.Status.PodIP, timeout)
}

// canaryService creates the canary Service if needed and returns its IP.
func (tp *Topology) canaryService() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: tp.cluster + "-e2e-canary"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{topoClusterLabel: tp.cluster, canaryLabel: "on"},
			Ports:    []corev1.ServicePort{{Port: 5432, TargetPort: intstr.FromInt32(5432)}},
		},
	}
	got, err := tp.f.Kube.CoreV1().Services(tp.ns).Create(ctx, svc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		got, err = tp.f.Kube.CoreV1().Services(tp.ns).Get(ctx, svc.Name, metav1.GetOptions{})
	}
	if err != nil {
		return "", err
	}
	return got.Spec.ClusterIP, nil
}

// moveCanary labels a running member pod that does not carry the canary
// label yet and unlabels the others.
func (tp *Topology) moveCanary() (*corev1.Pod, error) {
	pods, err := tp.pods()
	if err != nil {
		return nil, err
	}
	var target *corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.Labels[canaryLabel] == "" && p.Status.PodIP != "" && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			target = p
		}
	}
	if target == nil {
		return nil, fmt.Errorf("no running member pod to move the canary to")
	}
	for i := range pods {
		value := any(nil) // JSON null removes the label
		if pods[i].Name == target.Name {
			value = "on"
		} else if pods[i].Labels[canaryLabel] == "" {
			continue
		}
		if err := tp.labelPod(pods[i].Name, value); err != nil {
			return nil, err
		}
	}
	return target, nil
}

func (tp *Topology) labelPod(name string, value any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{canaryLabel: value}}})
	if err != nil {
		return err
	}
	_, err = tp.f.Kube.CoreV1().Pods(tp.ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) { // a pod gone meanwhile carries no label
		return fmt.Errorf("labelling pod %s: %w", name, err)
	}
	return nil
}
