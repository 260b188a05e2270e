package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The fleet's Services without the fleet: a failover "alone", run again
// beside as many Services as the fleet has, tells the node's share of the
// failover gap (every kube-proxy sync rewrites rules for all Services)
// from the operator's (it serves a thousand clusters meanwhile).
//
// Each fleet cluster has a -rw Service with one endpoint (its primary)
// and a -ro Service with none (a size-1 cluster has no replica). The load
// copies that: pairs of Services without selectors, the -rw one with a
// hand-written EndpointSlice. Its addresses are in the cluster's pod
// range but on no node: kube-proxy writes rules for them, and nothing
// sends them traffic.

// serviceLoadEndpoint is the i-th pair's endpoint address, in
// 10.244.240.0/20 (no node's pod range: the sim nodes take the first /24s).
func serviceLoadEndpoint(i int) string {
	return fmt.Sprintf("10.244.%d.%d", 240+i/250, 1+i%250)
}

// createServiceLoad makes pairs Service pairs in ns and waits until the
// host's kube-proxy has no change pending.
func (e *env) createServiceLoad(ctx context.Context, ns string, pairs int) (time.Duration, error) {
	t0 := time.Now()
	jobs := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 8 { // the bench's client allows 200 requests a second
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := e.createServicePair(ctx, ns, i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range pairs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	if err := waitProxyIdle(ctx, 2*time.Minute); err != nil {
		return 0, fmt.Errorf("kube-proxy taking in %d Services: %w", 2*pairs, err)
	}
	return time.Since(t0), nil
}

func (e *env) createServicePair(ctx context.Context, ns string, i int) error {
	port := corev1.ServicePort{Name: "postgres", Port: 5432, Protocol: corev1.ProtocolTCP}
	for _, role := range []string{"rw", "ro"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s%04d-%s", i+1, role)},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{port}},
		}
		if _, err := e.kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating Service %s: %w", svc.Name, err)
		}
	}
	name := fmt.Sprintf("s%04d-rw", i+1)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			discoveryv1.LabelServiceName: name,
			discoveryv1.LabelManagedBy:   "bench.postgres-operator.dev",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{serviceLoadEndpoint(i)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("postgres"), Port: ptr.To(int32(5432)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	if _, err := e.kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating EndpointSlice %s: %w", name, err)
	}
	return nil
}

// waitProxyIdle waits until the host's kube-proxy has taken in every
// Service and endpoint change it was told of: both pending gauges at 0
// in two reads a second apart (a change may still be on its way to it).
func waitProxyIdle(ctx context.Context, timeout time.Duration) error {
	idle := 0
	return poll(ctx, timeout, time.Second, func() (bool, error) {
		pending, err := proxyPendingChanges(ctx)
		if err != nil || pending > 0 {
			idle = 0
			return false, fmt.Errorf("%v changes pending (%v)", pending, err)
		}
		idle++
		return idle >= 2, nil
	})
}

// proxyPendingChanges sums kube-proxy's Service and endpoint changes not
// yet written to its rules.
func proxyPendingChanges(ctx context.Context) (float64, error) {
	ss, err := scrapeMetrics(ctx, hostProxyMetrics)
	if err != nil {
		return 0, err
	}
	var pending float64
	seen := false
	for _, s := range ss {
		switch s.name {
		case "kubeproxy_sync_proxy_rules_service_changes_pending", "kubeproxy_sync_proxy_rules_endpoint_changes_pending":
			pending += s.value
			seen = true
		}
	}
	if !seen {
		return 0, fmt.Errorf("kube-proxy's metrics at %s have no pending-changes gauges", hostProxyMetrics)
	}
	return pending, nil
}

// deleteServiceLoad deletes the load's namespace and waits until it is gone
// and kube-proxy has dropped its rules, so that the fleet's creation that
// follows is not measured against the deletion.
func (e *env) deleteServiceLoad(ctx context.Context, ns string) error {
	if err := e.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		return err
	}
	err := poll(ctx, 5*time.Minute, time.Second, func() (bool, error) {
		_, err := e.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return fmt.Errorf("namespace %s not gone: %w", ns, err)
	}
	return waitProxyIdle(ctx, 2*time.Minute)
}
