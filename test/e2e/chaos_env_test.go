//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

const (
	chaosCluster = "chaos"
	chaosSize    = 3
	// Load: kept modest so that on a 2-core machine the operator's and the
	// kubelet's reaction times, not the load, decide what is measured.
	recorderInterval = 20 * time.Millisecond // ~50 acknowledged commits/s at most
	pgbenchClients   = 2
	pgbenchRate      = 40 // transactions/s
	sampleInterval   = 300 * time.Millisecond
)

// chaosEnv is one cluster under write load, watched for two primaries.
type chaosEnv struct {
	t         *testing.T
	f         *framework.Framework
	ns        string
	pw        string
	mode      string // async | sync
	rwIP      string
	rng       *rand.Rand
	topo      *framework.Topology
	watch     *framework.TopologyWatch
	primaries *framework.PrimaryWatch
	recorder  *framework.Recorder
	bench     *framework.Pgbench
	results   []chaosResult
	lost      map[int64]bool // acknowledged ids found missing so far
}

// newChaosEnv creates a cluster of chaosSize members in the given mode,
// waits until it is Ready and starts the load and the watch. Cleanup stops
// them and prints the summary table.
func newChaosEnv(t *testing.T, prefix, mode string, seed uint64) *chaosEnv {
	f := setup(t)
	e := &chaosEnv{t: t, f: f, ns: f.Namespace(t, prefix), mode: mode, lost: map[int64]bool{},
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	f.KubectlOK(t, chaosManifest(mode), "-n", e.ns, "apply", "-f", "-")
	f.WaitReady(t, e.ns, chaosCluster, 3*time.Minute)
	e.pw = f.Password(t, e.ns, chaosCluster)
	svc, err := f.Kube.CoreV1().Services(e.ns).Get(context.Background(), chaosCluster+"-rw", metav1.GetOptions{})
	require.NoError(t, err)
	e.rwIP = svc.Spec.ClusterIP
	e.topo = f.NewTopology(e.ns, chaosCluster, e.pw)
	e.primaries = e.topo.WatchPrimaries()
	t.Cleanup(e.primaries.Stop)
	e.watch = e.topo.Watch(sampleInterval)
	t.Cleanup(e.watch.Stop)
	require.NoError(t, framework.InitPgbench(e.rwIP, e.pw))
	e.bench = framework.StartPgbench(e.rwIP, e.pw, pgbenchClients, pgbenchRate)
	e.recorder, err = framework.StartRecorder(e.rwIP, e.pw, recorderInterval)
	require.NoError(t, err)
	t.Cleanup(e.finish)
	return e
}

func chaosManifest(mode string) string {
	return fmt.Sprintf(`apiVersion: postgres-operator.dev/v1alpha1
kind: PostgresCluster
metadata:
  name: %s
spec:
  size: %d
  postgresVersion: 15
  superuserAccess: true
  storage:
    size: 1Gi
  replication:
    mode: %s
`, chaosCluster, chaosSize, mode)
}

// finish stops the load and reports what the run did.
func (e *chaosEnv) finish() {
	e.recorder.Stop()
	runs, txns := e.bench.Stop()
	st := e.recorder.Stats()
	e.t.Logf("recorder: %d writes, %d acknowledged, %d failed, %d succeeded with a warning (not counted as acknowledged), %d warnings (last: %q); pgbench: %d runs, %d transactions in completed runs; topology samples: %d",
		st.Attempts, st.Acked, st.Failures, st.WarnedOK, st.Warnings, st.LastWarning, runs, txns, e.watch.Samples())
	e.t.Logf("chaos summary (%s):\n%s", e.t.Name(), summaryTable(e.results))
	if e.t.Failed() {
		for _, text := range e.watch.CrashLogs() {
			e.t.Log(text)
		}
	}
}

// setMode switches the cluster's replication mode and waits until the
// primary applies it and every member streams in it.
func (e *chaosEnv) setMode(mode string) {
	t := e.t
	if mode == e.mode {
		return
	}
	patch := fmt.Sprintf(`{"spec":{"replication":{"mode":%q}}}`, mode)
	_, err := e.f.PG.PostgresV1alpha1().PostgresClusters(e.ns).Patch(context.Background(), chaosCluster,
		types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)
	e.mode = mode
	framework.Eventually(t, 2*time.Minute, "replication mode "+mode+" applied", func() (bool, error) {
		names, err := e.topo.SyncStandbyNames()
		if err != nil || (names == "") != (mode == "async") {
			return false, framework.Errorf("synchronous_standby_names=%q err=%v", names, err)
		}
		err = e.topo.Converged(chaosSize, nil, mode == "sync")
		return err == nil, err
	})
}
