package main

import (
	"fmt"
	"net"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned"
)

// watchClients are the informers' clients, on a connection of their own.
// Why: client-go shares one HTTP/2 connection between every client built
// from the same configuration, so the informers' watch streams shared it
// with the actors' writes. When a hundred clusters changed at once, most
// were acted on within milliseconds of the change, a few only seconds
// later, while the operator's workqueue and actors sat idle: the changes
// had not reached it yet. A connection of their own keeps the watches'
// events from queueing behind a burst of writes on the same connection.
type watchClients struct {
	kube kubernetes.Interface
	pgc  versioned.Interface
}

func newWatchClients(cfg *rest.Config) (watchClients, error) {
	own := rest.CopyConfig(cfg)
	// A Dial of its own gives the configuration a transport client-go
	// does not share (k8s.io/client-go/transport/cache.go keys on it).
	own.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	kube, err := kubernetes.NewForConfig(own)
	if err != nil {
		return watchClients{}, fmt.Errorf("building the informers' Kubernetes client: %w", err)
	}
	pgc, err := versioned.NewForConfig(own)
	if err != nil {
		return watchClients{}, fmt.Errorf("building the informers' PostgresCluster client: %w", err)
	}
	return watchClients{kube: kube, pgc: pgc}, nil
}
