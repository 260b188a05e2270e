// Command cri-reset stops and removes every pod sandbox of a CRI runtime.
//
// hack/local-cluster.sh runs it on `down`, after stopping kubelet: going
// through CRI makes containerd run CNI DEL (veths, IP leases), unmount the
// pods' netns and shm, and let the shims exit, which killing tasks would not.
// Containers get a grace period first so PostgreSQL shuts down cleanly.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	endpoint := flag.String("endpoint", "", "CRI socket path")
	grace := flag.Int64("grace", 10, "seconds each container gets to stop before it is killed")
	flag.Parse()
	if err := reset(*endpoint, *grace); err != nil {
		fmt.Fprintln(os.Stderr, "cri-reset:", err)
		os.Exit(1)
	}
}

func reset(endpoint string, grace int64) error {
	conn, err := grpc.NewClient("unix://"+endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(grace+50)*time.Second)
	defer cancel()

	ctrs, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var firstErr error
	var mu sync.Mutex
	keep := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	var wg sync.WaitGroup
	for _, c := range ctrs.Containers {
		if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: c.Id, Timeout: grace}); err != nil {
				keep(fmt.Errorf("stop container %s: %w", c.Metadata.GetName(), err))
			}
		}()
	}
	wg.Wait()

	sbs, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list pod sandboxes: %w", err)
	}
	for _, s := range sbs.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := s.Metadata.GetNamespace() + "/" + s.Metadata.GetName()
			if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.Id}); err != nil {
				keep(fmt.Errorf("stop pod %s: %w", name, err))
				return
			}
			if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.Id}); err != nil {
				keep(fmt.Errorf("remove pod %s: %w", name, err))
			}
		}()
	}
	wg.Wait()
	fmt.Printf("removed %d pod sandboxes\n", len(sbs.Items))
	return firstErr
}
