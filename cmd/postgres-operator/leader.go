package main

import (
	"context"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// leadAndRun runs fn only while this replica holds the Lease, and tells
// leading when it starts and stops holding it. Losing the Lease stops fn;
// the process then exits so a fresh start competes again with clean caches.
func leadAndRun(ctx context.Context, o *options, kube kubernetes.Interface, leading func(bool), fn func(context.Context) error) error {
	logger := klog.FromContext(ctx)
	id, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("leader election identity: %w", err)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.leaseNamespace, Name: o.leaseName},
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	var runErr error
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock: lock,
		// A new leader takes over within LeaseDuration of a crashed one; a
		// failover in flight is resumed from API state.
		LeaseDuration:   o.leaseDuration,
		RenewDeadline:   o.renewDeadline,
		RetryPeriod:     o.retryPeriod,
		ReleaseOnCancel: true,
		Name:            o.leaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				logger.Info("Leading", "lease", klog.KRef(o.leaseNamespace, o.leaseName), "identity", id)
				leading(true)
				runErr = fn(ctx)
			},
			OnStoppedLeading: func() {
				leading(false)
				logger.Info("Stopped leading", "identity", id)
			},
			OnNewLeader: func(leader string) {
				if leader != id {
					logger.Info("Another replica leads", "leader", leader)
				}
			},
		},
	})
	if runErr == nil && ctx.Err() == nil {
		return fmt.Errorf("lost the leader election Lease")
	}
	return runErr
}
