//go:build e2e && e2enodes

package e2enodes

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// Issue 8's drain on real nodes: a sync cluster of 2, the primary on an
// extra node and the replica on another, under writes;
// `kubectl drain <primary's node>`. The operator sees the cordon and
// switches over before the old primary's pod is evicted: when that pod
// first carries a deletion timestamp it is already fenced (no primary
// label) and the replica elsewhere is the primary. The drain completes, no
// acknowledged commit is lost, and the failed commits are counted. After
// `kubectl uncordon` the cluster is back to 2 Ready members.
//
// kubectl drain cordons and evicts in one go (tens of milliseconds apart),
// and the budget lets one member go: this is the race the operator has to
// win for the switchover to come first.
func TestDrainPrimaryNode(t *testing.T) { testDrain(t, false) }

// The README's procedure: `kubectl cordon`, then `kubectl drain` once the
// operator has switched over. Same checks.
func TestDrainPrimaryNodeCordonFirst(t *testing.T) { testDrain(t, true) }

func testDrain(t *testing.T, cordonFirst bool) {
	f := setup(t)
	ns := f.Namespace(t, map[bool]string{false: "nodes-drain", true: "nodes-cordon"}[cordonFirst])
	const name = "drain"
	pw := createSpread(t, f, ns, name, 2, "sync")
	oldPrimary, node := primaryOnExtraNode(t, f, ns, name)
	_, replicas := f.Roles(t, ns, name)
	require.Len(t, replicas, 1)
	target := replicas[0]
	require.NotEqual(t, node, f.NodeOf(t, ns, target))
	oldPod := f.Pod(t, ns, oldPrimary)
	oldIP, oldUID := oldPod.Status.PodIP, string(oldPod.UID)

	rw := f.ServiceIP(t, ns, name+"-rw")
	require.NoError(t, framework.CreateNodeAckTable(rw, pw))
	host := framework.StartHostWriter("host", rw, pw, 1, 50*time.Millisecond)
	t.Cleanup(func() { stopAll(host) })
	framework.Eventually(t, time.Minute, "writes acknowledged", func() (bool, error) {
		return host.Stats().Acked >= 20, framework.Errorf("%+v", host.Stats())
	})

	// Follow the old primary's pod: its first update with a deletion
	// timestamp says whether it was evicted as the primary.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := f.Kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + oldPrimary})
	require.NoError(t, err)
	type deletion struct {
		at    time.Time
		role  string
		fence string
	}
	deleted := make(chan deletion, 1)
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || string(p.UID) != oldUID {
				continue
			}
			if p.DeletionTimestamp != nil || ev.Type == watch.Deleted {
				deleted <- deletion{at: time.Now(), role: p.Labels[framework.RoleLabel], fence: p.Annotations["postgres-operator.dev/fenced"]}
				return
			}
		}
	}()

	uncordoned := false
	t.Cleanup(func() {
		if !uncordoned {
			f.Run("", "uncordon", node)
		}
	})
	failuresBefore := host.Stats().Failures
	drainAt := time.Now()
	if cordonFirst {
		f.KubectlOK(t, "", "cordon", node)
		framework.Eventually(t, time.Minute, "the switchover to "+target, func() (bool, error) {
			p := f.Cluster(t, ns, name).Status.Primary
			return p == target, framework.Errorf("status.primary %q", p)
		})
		t.Logf("cordon → %s is the primary: %s", target, time.Since(drainAt).Round(time.Millisecond))
	}
	lines, err := runDrain(f, node)
	drainDone := time.Now()
	for _, l := range lines {
		t.Logf("drain: %s", l)
	}
	require.NoError(t, err, "kubectl drain %s", node)
	t.Logf("kubectl drain %s: done %s after the start", node, drainDone.Sub(drainAt).Round(time.Millisecond))

	var d deletion
	select {
	case d = <-deleted:
	case <-time.After(time.Minute):
		framework.Fatalf(t, "the old primary's pod %s was never deleted", oldPrimary)
	}
	t.Logf("start → old primary's pod deleted: %s (role label %q, fenced %q)", d.at.Sub(drainAt).Round(time.Millisecond), d.role, d.fence)
	if d.role == "primary" {
		framework.Fail(t, "the old primary's pod was evicted while still the primary: the operator did not switch over first")
	}
	framework.Eventually(t, time.Minute, target+" is the primary", func() (bool, error) {
		p := f.Cluster(t, ns, name).Status.Primary
		return p == target, framework.Errorf("status.primary %q", p)
	})
	assert.NotEmpty(t, switchoverEvents(t, f, ns, name), "no Switchover Event")

	f.KubectlOK(t, "", "uncordon", node)
	uncordoned = true
	uncordonAt := time.Now()
	// In sync mode a commit needs a replica: the new primary's first ones
	// wait for the drained member, which can only run on its node again.
	var firstNew framework.Ack
	framework.Eventually(t, readyTimeout, "a write acknowledged by the new primary", func() (bool, error) {
		a, ok := host.FirstAckNotOn(oldIP)
		firstNew = a
		return ok, framework.Errorf("host writer %+v", host.Stats())
	})
	f.WaitReady(t, ns, name, readyTimeout)
	t.Logf("start → new primary's first acknowledged write: %s (%s; uncordon → it: %s); uncordon → 2 Ready members: %s",
		firstNew.At.Sub(drainAt).Round(time.Millisecond), firstNew.Server, firstNew.At.Sub(uncordonAt).Round(time.Millisecond),
		time.Since(uncordonAt).Round(time.Millisecond))
	topo := f.NewTopology(ns, name, pw)
	waitConverged(t, topo, 2, map[string]bool{oldUID: true}, true)
	host.Stop()
	st := host.Stats()
	after, err := topo.CurrentPrimary()
	require.NoError(t, err)
	missing, err := framework.MissingNodeAcks(after.IP, pw, host.Acks())
	require.NoError(t, err)
	assert.Empty(t, missing, "acknowledged commits lost: %s", framework.FormatIDs(missing, 20))
	t.Logf("drain under writes: %d acknowledged, %d lost, %d failed (errored) commits during the drain and switchover; last error: %s",
		len(host.Acks()), len(missing), st.Failures-failuresBefore, st.LastError)
}

// runDrain runs kubectl drain and returns its output lines, each stamped
// with the time it was printed.
func runDrain(f *framework.Framework, node string) ([]string, error) {
	cmd := exec.Command(f.Kubectl, "--kubeconfig", f.Kubeconfig, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=3m")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var lines []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		mu.Lock()
		lines = append(lines, time.Now().Format("15:04:05.000")+" "+sc.Text())
		mu.Unlock()
	}
	return lines, cmd.Wait()
}

// switchoverEvents lists the cluster's Switchover Events' messages.
func switchoverEvents(t *testing.T, f *framework.Framework, ns, name string) []string {
	t.Helper()
	list, err := f.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: fmt.Sprintf("involvedObject.name=%s,reason=Switchover", name)})
	require.NoError(t, err)
	var out []string
	for _, e := range list.Items {
		out = append(out, strings.TrimSpace(e.Message))
	}
	t.Logf("Switchover Events: %v", out)
	return out
}
