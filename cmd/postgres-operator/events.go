package main

import (
	"context"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	pgscheme "postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned/scheme"
)

// Event rate per cluster and reason. client-go's default lets a source send
// 25 Events about one object, whatever their reasons, then one every five
// minutes: a cluster that goes through a few failovers in a row (a bad hour,
// the chaos suite) used up its 25 on member and rollout Events and its next
// Promote Events never reached the API server, though the log had them.
// Each reason gets its own bucket instead, refilled every 30 s, so a looping
// reason is still held down while the Events a user reads after a failover
// (Promote, Failover, Rewind) keep arriving.
const (
	eventBurstPerReason = 25
	eventQPSPerReason   = 1. / 30.
)

// eventRecorder records Events through the API and logs each one.
func eventRecorder(ctx context.Context, kube kubernetes.Interface) (record.EventRecorder, func()) {
	if err := pgscheme.AddToScheme(scheme.Scheme); err != nil {
		panic(err) // registering generated types cannot fail
	}
	b := record.NewBroadcaster(record.WithContext(ctx), record.WithCorrelatorOptions(eventCorrelation()))
	b.StartStructuredLogging(3)
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	host, _ := os.Hostname()
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "postgres-operator", Host: host}), b.Shutdown
}

// eventCorrelation is client-go's Event correlation with a spam bucket per
// object and reason (see eventBurstPerReason).
func eventCorrelation() record.CorrelatorOptions {
	return record.CorrelatorOptions{
		BurstSize:   eventBurstPerReason,
		QPS:         eventQPSPerReason,
		SpamKeyFunc: eventSpamKey,
	}
}

// eventSpamKey names the bucket an Event draws from: its source, object,
// type and reason.
func eventSpamKey(e *corev1.Event) string {
	o := e.InvolvedObject
	return strings.Join([]string{e.Source.Component, e.Source.Host, o.Kind, o.Namespace, o.Name,
		string(o.UID), o.APIVersion, e.Type, e.Reason}, "/")
}
