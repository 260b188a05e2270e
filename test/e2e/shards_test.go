//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// Shards as manifests/shards runs them (README "When to shard").
const (
	shardLabel      = "postgres-operator.dev/shard"
	shardB          = "postgres-operator-shard-b" // its Deployment and its Lease
	shardBOverlay   = "hack/local-overlay-shard-b"
	notShardedArg   = "--cluster-selector=!" + shardLabel
	defaultOperator = "postgres-operator" // the default Deployment and Lease
)

// Two operators side by side: shard b manages the cluster labelled
// shard=b, the default operator (told to leave shards alone) the other;
// each cluster's work is logged and reported by one of them only. Then
// the unlabelled cluster is relabelled into shard b: the default operator
// stops its runner without touching it, shard b takes it over, and its
// pod runs on (same pod, still Ready) while shard b scales it.
func TestShardsSideBySide(t *testing.T) {
	f := setup(t)
	deployShardB(t, f)
	excludeShards(t, f)
	// Cleanups run last first: the namespace's (diagnostics, then its
	// deletion) before this wait, and this before the default operator
	// takes every cluster again and shard b goes, so that no cluster ever
	// has two operators.
	var ns string
	t.Cleanup(func() { waitClustersGone(t, f, ns) })
	ns = f.Namespace(t, "shards")

	f.KubectlOK(t, labelled(framework.ClusterYAML("bee", 1, ""), shardLabel+": b"), "-n", ns, "apply", "-f", "-")
	f.KubectlOK(t, framework.ClusterYAML("plain", 1, ""), "-n", ns, "apply", "-f", "-")
	f.WaitReady(t, ns, "bee", 3*time.Minute)
	f.WaitReady(t, ns, "plain", 3*time.Minute)

	mainLog, bLog := operatorLog(t, f, defaultOperator), operatorLog(t, f, shardB)
	assert.Contains(t, bLog, started(ns, "bee"))
	assert.NotContains(t, mainLog, named(ns, "bee"), "the default operator never acts on shard b's cluster")
	assert.Contains(t, mainLog, started(ns, "plain"))
	assert.NotContains(t, bLog, named(ns, "plain"), "shard b never acts on an unlabelled cluster")
	assertReportedBy(t, f, ns, "bee", shardB)
	assertReportedBy(t, f, ns, "plain", defaultOperator)

	// The move.
	before := f.Pod(t, ns, "plain-1")
	f.KubectlOK(t, "", "-n", ns, "label", "pgc", "plain", shardLabel+"=b")
	framework.Eventually(t, time.Minute, "the default operator lets plain go and shard b takes it", func() (bool, error) {
		mainLog, bLog = operatorLog(t, f, defaultOperator), operatorLog(t, f, shardB)
		return strings.Contains(mainLog, stopped(ns, "plain")) && strings.Contains(bLog, started(ns, "plain")),
			framework.Errorf("default stopped it: %t, shard b started it: %t",
				strings.Contains(mainLog, stopped(ns, "plain")), strings.Contains(bLog, started(ns, "plain")))
	})
	f.WaitReady(t, ns, "plain", time.Minute)
	assert.Equal(t, before.UID, f.Pod(t, ns, "plain-1").UID, "the member pod kept running through the move")

	// Shard b acts on it: a new replica, made and reported by shard b.
	f.KubectlOK(t, "", "-n", ns, "scale", "pgc/plain", "--replicas=2")
	f.WaitReady(t, ns, "plain", 3*time.Minute)
	assert.Equal(t, before.UID, f.Pod(t, ns, "plain-1").UID, "the first member is the same pod")
	bLog = operatorLog(t, f, shardB)
	assert.Contains(t, bLog, named(ns, "plain")+` action="CreateMember" member="plain-2"`)
	mainLog = operatorLog(t, f, defaultOperator)
	_, after, _ := strings.Cut(mainLog, stopped(ns, "plain"))
	assert.NotContains(t, after, named(ns, "plain"), "the default operator's last word on plain is that it stopped")
	assert.NotContains(t, mainLog, named(ns, "bee"))
	assertEventReporter(t, f, ns, "plain", "CreateMember", "plain-2", shardB)
}

// labelled adds labels (YAML "key: value" lines) to a ClusterYAML manifest.
func labelled(manifest, labels string) string {
	return strings.Replace(manifest, "metadata:\n", "metadata:\n  labels:\n    "+labels+"\n", 1)
}

// Log lines of the controller (pkg/controller/sync.go), which name their
// cluster as cluster="<ns>/<name>".
func named(ns, cluster string) string   { return fmt.Sprintf(`cluster="%s/%s"`, ns, cluster) }
func started(ns, cluster string) string { return `"Started cluster runner" ` + named(ns, cluster) }
func stopped(ns, cluster string) string { return `"Stopped cluster runner" ` + named(ns, cluster) }

// waitClustersGone waits until the namespace holds no PostgresCluster.
func waitClustersGone(t *testing.T, f *framework.Framework, ns string) {
	t.Helper()
	framework.Eventually(t, 2*time.Minute, "the PostgresClusters of "+ns+" deleted", func() (bool, error) {
		list, err := f.PG.PostgresV1alpha1().PostgresClusters(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return len(list.Items) == 0, framework.Errorf("%d left", len(list.Items))
	})
}

// deployShardB installs shard b with the local image next to the default
// operator, and removes it (its Lease too) when the test ends.
func deployShardB(t *testing.T, f *framework.Framework) {
	t.Helper()
	r := f.RunIn(f.Root, "apply", "-k", shardBOverlay)
	require.NoError(t, r.Err, "kubectl apply -k %s: %s", shardBOverlay, r.Stderr)
	t.Cleanup(func() {
		for _, args := range [][]string{
			{"delete", "-k", shardBOverlay, "--ignore-not-found", "--wait=true"},
			{"-n", operatorNS, "delete", "lease", shardB, "--ignore-not-found"},
		} {
			if r := f.RunIn(f.Root, args...); r.Err != nil {
				t.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), r.Err, r.Stderr)
			}
		}
	})
	waitLeading(t, f, shardB, func(args []string) bool { return slices.Contains(args, "--leader-elect-lease-name="+shardB) })
}

// excludeShards gives the default operator --cluster-selector=!shard, as
// manifests/shards does, and takes it away again when the test ends; each
// time it waits until the rolled-out operator leads.
func excludeShards(t *testing.T, f *framework.Framework) {
	t.Helper()
	dep, err := f.Kube.AppsV1().Deployments(operatorNS).Get(context.Background(), defaultOperator, metav1.GetOptions{})
	require.NoError(t, err)
	args := dep.Spec.Template.Spec.Containers[0].Args
	require.NotContains(t, args, notShardedArg, "a previous run left the selector in place")
	at := fmt.Sprintf("/spec/template/spec/containers/0/args/%d", len(args))
	value, err := json.Marshal(notShardedArg)
	require.NoError(t, err)
	patch := func(ops string) {
		f.KubectlOK(t, "", "-n", operatorNS, "patch", "deployment", defaultOperator, "--type=json", "-p", ops)
	}
	patch(fmt.Sprintf(`[{"op":"add","path":%q,"value":%s}]`, at, value))
	t.Cleanup(func() {
		patch(fmt.Sprintf(`[{"op":"test","path":%q,"value":%s},{"op":"remove","path":%q}]`, at, value, at))
		waitLeading(t, f, defaultOperator, func(args []string) bool { return !slices.Contains(args, notShardedArg) })
	})
	waitLeading(t, f, defaultOperator, func(args []string) bool { return slices.Contains(args, notShardedArg) })
}

// waitLeading waits until the Deployment has rolled out (every replica
// updated and ready, no old one left) and its Lease (named after it) is
// held by one of its running pods whose arguments satisfy want.
func waitLeading(t *testing.T, f *framework.Framework, name string, want func([]string) bool) {
	t.Helper()
	ctx := context.Background()
	framework.Eventually(t, 3*time.Minute, name+" rolled out and leading", func() (bool, error) {
		d, err := f.Kube.AppsV1().Deployments(operatorNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st, replicas := d.Status, *d.Spec.Replicas
		if st.ObservedGeneration < d.Generation || st.UpdatedReplicas != replicas || st.ReadyReplicas != replicas || st.Replicas != replicas {
			return false, framework.Errorf("rollout: updated=%d ready=%d total=%d of %d", st.UpdatedReplicas, st.ReadyReplicas, st.Replicas, replicas)
		}
		holder, err := leaseHolder(ctx, f, name)
		if err != nil {
			return false, err
		}
		pod, err := f.Kube.CoreV1().Pods(operatorNS).Get(ctx, holder, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning || !want(pod.Spec.Containers[0].Args) {
			return false, framework.Errorf("Lease %s held by %s (phase %s, deleting %t, args %v)", name, holder,
				pod.Status.Phase, pod.DeletionTimestamp != nil, pod.Spec.Containers[0].Args)
		}
		return true, nil
	})
}

func leaseHolder(ctx context.Context, f *framework.Framework, lease string) (string, error) {
	l, err := f.Kube.CoordinationV1().Leases(operatorNS).Get(ctx, lease, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return "", fmt.Errorf("nobody holds the Lease %s", lease)
	}
	return *l.Spec.HolderIdentity, nil
}

// operatorLog is the log of the pod holding the operator's Lease: the one
// that acts.
func operatorLog(t *testing.T, f *framework.Framework, operator string) string {
	t.Helper()
	holder, err := leaseHolder(context.Background(), f, operator)
	require.NoError(t, err)
	return f.KubectlOK(t, "", "-n", operatorNS, "logs", holder)
}

// assertReportedBy checks that every Event on the cluster was recorded by
// a pod of the operator Deployment named: the recorder's instance is its
// pod's host name, the pod's name.
func assertReportedBy(t *testing.T, f *framework.Framework, ns, cluster, operator string) {
	t.Helper()
	for _, e := range eventsOn(t, f, ns, cluster, "", "") {
		assert.True(t, reportedBy(e, operator), "Event %s on %s reported by %q, not a pod of %s", e.Reason, cluster, e.ReportingInstance, operator)
	}
}

// assertEventReporter checks that the Events of one reason on the cluster
// whose message names what come from the operator named.
func assertEventReporter(t *testing.T, f *framework.Framework, ns, cluster, reason, what, operator string) {
	t.Helper()
	for _, e := range eventsOn(t, f, ns, cluster, reason, what) {
		assert.True(t, reportedBy(e, operator), "Event %s (%s) reported by %q, not a pod of %s", reason, e.Message, e.ReportingInstance, operator)
	}
}

// reportedBy: pods are named <deployment>-<replicaset hash>-<suffix>, so
// the default Deployment's never pass for shard b's, nor the reverse.
func reportedBy(e corev1.Event, operator string) bool {
	instance := e.ReportingInstance
	if instance == "" {
		instance = e.Source.Host
	}
	rest, ok := strings.CutPrefix(instance, operator+"-")
	return ok && strings.Count(rest, "-") == 1
}

// eventsOn waits for the cluster's Events of reason (any, if empty) whose
// message contains what: the operator's broadcaster stores them after the
// status they go with.
func eventsOn(t *testing.T, f *framework.Framework, ns, cluster, reason, what string) []corev1.Event {
	t.Helper()
	sel := fields.Set{"involvedObject.kind": "PostgresCluster", "involvedObject.name": cluster}
	if reason != "" {
		sel["reason"] = reason
	}
	var events []corev1.Event
	framework.Eventually(t, time.Minute, fmt.Sprintf("Events %s %q on %s", reason, what, cluster), func() (bool, error) {
		list, err := f.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: sel.String()})
		if err != nil {
			return false, err
		}
		events = slices.DeleteFunc(list.Items, func(e corev1.Event) bool { return !strings.Contains(e.Message, what) })
		return len(events) > 0, framework.Errorf("none yet")
	})
	return events
}
