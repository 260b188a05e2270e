//go:build e2e

package framework

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels the operator puts on member pods (a user's view of them: the
// suite does not import the operator's packages for these).
const (
	ClusterLabel = "postgres-operator.dev/cluster"
	RoleLabel    = "postgres-operator.dev/role"
)

// ClusterYAML is a PostgresCluster manifest of the given size on
// PostgreSQL 15. extra is appended right after storage.size, so it adds
// storage fields (indented four spaces) or spec fields (two spaces).
func ClusterYAML(name string, size int, extra string) string {
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
%s`, name, size, extra)
}

// MemberPods lists the cluster's member pods, sorted by ordinal.
func (f *Framework) MemberPods(t testing.TB, ns, cluster string) []corev1.Pod {
	t.Helper()
	pods, err := f.ListMemberPods(ns, cluster)
	require.NoError(t, err)
	return pods
}

// ListMemberPods is MemberPods for polling loops, where an error (the API
// server restarting under a chaos test) means "not yet".
func (f *Framework) ListMemberPods(ns, cluster string) ([]corev1.Pod, error) {
	list, err := f.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: ClusterLabel + "=" + cluster})
	if err != nil {
		return nil, err
	}
	pods := list.Items
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return Ordinal(a.Name) - Ordinal(b.Name) })
	return pods, nil
}

// Ordinal parses the ordinal of a member name such as "demo-3".
func Ordinal(member string) int {
	n, _ := strconv.Atoi(member[strings.LastIndexByte(member, '-')+1:])
	return n
}

// Roles returns the names of the primary pod and of the replica pods (by
// their role label), requiring exactly one primary.
func (f *Framework) Roles(t testing.TB, ns, cluster string) (primary string, replicas []string) {
	t.Helper()
	for _, p := range f.MemberPods(t, ns, cluster) {
		switch p.Labels[RoleLabel] {
		case "primary":
			require.Empty(t, primary, "two pods labelled primary: %s and %s", primary, p.Name)
			primary = p.Name
		case "replica":
			replicas = append(replicas, p.Name)
		}
	}
	require.NotEmpty(t, primary, "no pod of %s is labelled primary", cluster)
	return primary, replicas
}

// PrimaryPod returns the name of the one pod labelled primary, or an error:
// for checks inside Eventually, where a moment without a primary (a
// switchover's) is a state to wait out, not a failure.
func (f *Framework) PrimaryPod(ns, cluster string) (string, error) {
	pods, err := f.ListMemberPods(ns, cluster)
	if err != nil {
		return "", err
	}
	var primaries []string
	for _, p := range pods {
		if p.Labels[RoleLabel] == "primary" {
			primaries = append(primaries, p.Name)
		}
	}
	if len(primaries) != 1 {
		return "", fmt.Errorf("pods labelled primary: %v", primaries)
	}
	return primaries[0], nil
}

// Query runs SQL on a member pod as the superuser and fails the test on error.
func (f *Framework) Query(t testing.TB, ns, pod, password, sql string) string {
	t.Helper()
	out, err := f.PSQL(ns, "", pod, password, sql)
	require.NoError(t, err, "on %s: %s", pod, sql)
	return out
}

// WaitQuery polls SQL on a member until it returns want.
func (f *Framework) WaitQuery(t testing.TB, ns, pod, password, sql, want string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, fmt.Sprintf("%q on %s returns %q", sql, pod, want), func() (bool, error) {
		out, err := f.PSQL(ns, "", pod, password, sql)
		return err == nil && out == want, Errorf("got %q, err %v", out, err)
	})
}

// WaitStreaming waits until pg_stat_replication on the primary lists
// exactly the given standbys (by application_name, which member.sh sets to
// the pod name), every one in state streaming.
func (f *Framework) WaitStreaming(t testing.TB, ns, primary, password string, standbys []string, timeout time.Duration) {
	t.Helper()
	want := slices.Sorted(slices.Values(standbys))
	const sql = "select coalesce(string_agg(application_name || '=' || state, ',' order by application_name), '') from pg_stat_replication"
	var parts []string
	for _, s := range want {
		parts = append(parts, s+"=streaming")
	}
	f.WaitQuery(t, ns, primary, password, sql, strings.Join(parts, ","), timeout)
}

// Slots lists the physical replication slots on a member, sorted.
func (f *Framework) Slots(t testing.TB, ns, pod, password string) []string {
	t.Helper()
	slots, err := f.ListSlots(ns, pod, password)
	require.NoError(t, err)
	return slots
}

// ListSlots is Slots for polling loops.
func (f *Framework) ListSlots(ns, pod, password string) ([]string, error) {
	out, err := f.PSQL(ns, "", pod, password, "select slot_name from pg_replication_slots where slot_type = 'physical' order by 1")
	if err != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// PodLog returns the log of a pod's postgres container.
func (f *Framework) PodLog(t testing.TB, ns, pod string) string {
	t.Helper()
	return f.KubectlOK(t, "", "-n", ns, "logs", pod, "-c", "postgres")
}

// ServiceIP returns a Service's ClusterIP, which the host can reach.
func (f *Framework) ServiceIP(t testing.TB, ns, name string) string {
	t.Helper()
	svc, err := f.Kube.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, svc.Spec.ClusterIP)
	return svc.Spec.ClusterIP
}

// PodReady reports the pod's Ready condition.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// PodIP returns a pod's IP, failing the test if it has none yet.
func (f *Framework) PodIP(t testing.TB, ns, pod string) string {
	t.Helper()
	ip := f.Pod(t, ns, pod).Status.PodIP
	require.NotEmpty(t, ip, "pod %s has no IP", pod)
	return ip
}
