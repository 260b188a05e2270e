//go:build e2e && e2enodes

package e2enodes

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// readyTimeout bounds bootstrap, switchovers and rejoins of a small
// cluster on the shared 2-core machine.
const readyTimeout = 3 * time.Minute

// spreadYAML is a cluster whose members must sit on different nodes (one
// per node: a hard topology spread instead of the operator's soft one), so
// that a node fault hits exactly one member.
func spreadYAML(name string, size int, mode string) string {
	return framework.ClusterYAML(name, size, fmt.Sprintf(`  replication:
    mode: %s
  pod:
    topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: DoNotSchedule
      labelSelector:
        matchLabels:
          %s: %s
`, mode, framework.ClusterLabel, name))
}

// createSpread creates the cluster, waits until it is Ready with every
// member on its own node, and returns the superuser password.
func createSpread(t *testing.T, f *framework.Framework, ns, name string, size int, mode string) string {
	t.Helper()
	f.KubectlOK(t, spreadYAML(name, size, mode), "-n", ns, "apply", "-f", "-")
	f.WaitReady(t, ns, name, readyTimeout)
	nodes := map[string]string{}
	for _, p := range f.MemberPods(t, ns, name) {
		require.NotContains(t, slices.Collect(mapValues(nodes)), p.Spec.NodeName, "two members on node %s: %v", p.Spec.NodeName, nodes)
		nodes[p.Name] = p.Spec.NodeName
	}
	t.Logf("%s: members on nodes %v", name, nodes)
	return f.Password(t, ns, name)
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// fenceAfterT is the cluster's self-fencing lease T (the CRD defaults it).
func fenceAfterT(t *testing.T, f *framework.Framework, ns, name string) time.Duration {
	t.Helper()
	s := f.Cluster(t, ns, name).Spec.Failover.FenceAfterSeconds
	if s == 0 {
		s = 10
	}
	return time.Duration(s) * time.Second
}

// primaryOnExtraNode makes sure the primary runs on an extra node (the
// first node carries the control plane and the operator and is never hit):
// if it does not, it switches over to the replica on the highest extra
// node. It returns the primary and its node.
func primaryOnExtraNode(t *testing.T, f *framework.Framework, ns, name string) (string, string) {
	t.Helper()
	primary, replicas := f.Roles(t, ns, name)
	if node := f.NodeOf(t, ns, primary); node != operatorNode {
		return primary, node
	}
	sort.Slice(replicas, func(i, j int) bool { return f.NodeOf(t, ns, replicas[i]) > f.NodeOf(t, ns, replicas[j]) })
	target := replicas[0]
	require.NotEqual(t, operatorNode, f.NodeOf(t, ns, target))
	switchoverTo(t, f, ns, name, target)
	return target, f.NodeOf(t, ns, target)
}

// switchoverTo asks for a switchover with the annotation the README
// documents and waits until the target is the primary and the cluster is
// Ready again.
func switchoverTo(t *testing.T, f *framework.Framework, ns, name, target string) {
	t.Helper()
	f.KubectlOK(t, "", "-n", ns, "annotate", "--overwrite", "pgc", name, v1alpha1.SwitchoverAnnotation+"="+target)
	framework.Eventually(t, readyTimeout, "switchover to "+target, func() (bool, error) {
		pgc := f.Cluster(t, ns, name)
		return pgc.Status.Primary == target, framework.Errorf("primary %q", pgc.Status.Primary)
	})
	f.WaitReady(t, ns, name, readyTimeout)
	t.Logf("%s: switched over to %s on %s", name, target, f.NodeOf(t, ns, target))
}

// conditionWatch samples a condition of the cluster every 200 ms and keeps
// every reason it saw, in order.
type conditionWatch struct {
	mu      sync.Mutex
	reasons []string
	stop    chan struct{}
	done    chan struct{}
}

func watchCondition(f *framework.Framework, ns, name, condType string) *conditionWatch {
	w := &conditionWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			pgc, err := f.PG.PostgresV1alpha1().PostgresClusters(ns).Get(ctx, name, metav1.GetOptions{})
			cancel()
			if err == nil {
				if c := meta.FindStatusCondition(pgc.Status.Conditions, condType); c != nil {
					r := string(c.Status) + "/" + c.Reason
					w.mu.Lock()
					if len(w.reasons) == 0 || w.reasons[len(w.reasons)-1] != r {
						w.reasons = append(w.reasons, r)
					}
					w.mu.Unlock()
				}
			}
			select {
			case <-w.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return w
}

// Stop ends the sampling and returns the reasons seen.
func (w *conditionWatch) Stop() []string {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.reasons...)
}

// waitRejoined waits until the member runs again in a new pod (not oldUID)
// as a replica after rewinding its volume: labelled replica, Ready,
// PostgreSQL in recovery, and its log saying it rewound.
func waitRejoined(t *testing.T, f *framework.Framework, ns, member, oldUID, pw string) {
	t.Helper()
	framework.Eventually(t, readyTimeout, member+" back as a replica in a new pod", func() (bool, error) {
		p, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), member, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if string(p.UID) == oldUID || p.DeletionTimestamp != nil {
			return false, framework.Errorf("still the old pod (uid %s, deleting %v)", p.UID, p.DeletionTimestamp != nil)
		}
		if p.Labels[framework.RoleLabel] != "replica" || !framework.PodReady(p) {
			return false, framework.Errorf("role %q ready %v phase %s", p.Labels[framework.RoleLabel], framework.PodReady(p), p.Status.Phase)
		}
		out, err := framework.PSQLHost(p.Status.PodIP, pw, "select pg_is_in_recovery()")
		return err == nil && out == "t", framework.Errorf("in recovery: %q, %v", out, err)
	})
	if err := f.WaitLogLine(ns, member, "rewinding against", 30*time.Second); err != nil {
		t.Logf("%s", f.Run("", "-n", ns, "describe", "pod", member).Stdout)
		framework.Fail(t, "%s did not rewind: %v", member, err)
	}
}

// waitConverged waits until every member streams from the one primary and
// the cluster is Ready.
func waitConverged(t *testing.T, topo *framework.Topology, size int, gone map[string]bool, sync bool) time.Time {
	t.Helper()
	framework.Eventually(t, readyTimeout, "every member streaming and the cluster Ready", func() (bool, error) {
		err := topo.Converged(size, gone, sync)
		return err == nil, err
	})
	return time.Now()
}

// ackSummary describes acks by server for a log line.
func ackSummary(acks []framework.Ack) string {
	by := map[string]int{}
	for _, a := range acks {
		by[fmt.Sprintf("%s@%s/tl%d", a.Writer, a.Server, a.Timeline)]++
	}
	var parts []string
	for k, n := range by {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// stopAll stops writers once (safe to call again from a cleanup).
func stopAll(ws ...*framework.AckWriter) {
	for _, w := range ws {
		if w != nil {
			w.Stop()
		}
	}
}
