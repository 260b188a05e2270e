//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// Two promotions from one timeline, each unaware of the other (found by the
// 100-fault chaos run: an operator promoted a replica and died before
// labelling it; the promoted member fenced itself, heard by nobody; the
// next operator promoted another replica). Both took timeline 2. Here the
// first promotion is made by hand the way the operator makes it (the other
// members' slots, then pg_promote) while the cluster is paused. The first
// promoted member must come back as a replica of the second: pg_rewind
// finds "the same timeline" and rewinds nothing, so member.sh re-clones it.
func TestFormerPrimaryOnATakenTimelineRejoins(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "tltaken")
	pw := createReadyCluster(t, f, ns, "tl", 3, "")
	primary, replicas := f.Roles(t, ns, "tl")
	require.Len(t, replicas, 2)
	first, second := replicas[0], replicas[1]
	writeRows(t, f, ns, primary, pw, 100)
	for _, r := range replicas {
		waitRows(t, f, ns, r, pw, 100)
	}

	setPaused(t, f, ns, "tl", true)
	require.NoError(t, f.KillContainer(postgresContainer(t, f.Pod(t, ns, primary))), "killing the primary's container")
	f.Query(t, ns, first, pw, fmt.Sprintf("select pg_create_physical_replication_slot('%s'), pg_create_physical_replication_slot('%s')",
		slotOf(primary), slotOf(second)))
	f.Query(t, ns, first, pw, "select pg_promote()")
	f.Query(t, ns, first, pw, "insert into lifecycle values (101, 'only on the first promoted member')")
	waitContainerEnded(t, f, ns, first, 2*time.Minute) // its fence probe: no operator, no standby heard
	setPaused(t, f, ns, "tl", false)

	framework.Eventually(t, 2*time.Minute, second+" promoted and labelled primary", func() (bool, error) {
		p, err := f.PrimaryPod(ns, "tl")
		return err == nil && p == second, framework.Errorf("primary %q, err %v", p, err)
	})
	// The timeline of the WAL it writes: pg_control's checkpoint names the
	// new timeline only once the checkpoint a promotion requests is done,
	// which a busy node delays (CI once read 1 there).
	assert.Equal(t, "2", f.Query(t, ns, second, pw,
		"select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"),
		"%s took the timeline %s had taken", second, first)
	f.WaitReady(t, ns, "tl", lifecycleReadyTimeout)
	f.WaitStreaming(t, ns, second, pw, []string{first, primary}, time.Minute)
	log := f.PodLog(t, ns, first)
	assert.Contains(t, log, "both were promoted to it separately")
	assert.Contains(t, log, "re-cloning")
	for _, m := range []string{first, primary} {
		requireStandby(t, f, ns, m, pw)
		waitRows(t, f, ns, m, pw, 100)
	}
}

// slotOf is a member's slot name on the primary (postgres.SlotName).
func slotOf(member string) string { return strings.ReplaceAll(member, "-", "_") }

func setPaused(t *testing.T, f *framework.Framework, ns, cluster string, paused bool) {
	t.Helper()
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", cluster, "--type=merge", "-p", fmt.Sprintf(`{"spec":{"paused":%t}}`, paused))
	framework.Eventually(t, time.Minute, fmt.Sprintf("Paused=%t", paused), func() (bool, error) {
		pgc := f.Cluster(t, ns, cluster)
		return meta.IsStatusConditionTrue(pgc.Status.Conditions, v1alpha1.ConditionPaused) == paused, nil
	})
}

// waitContainerEnded waits until the member's postgres container has
// terminated (its pod then fails: members never restart in place).
func waitContainerEnded(t *testing.T, f *framework.Framework, ns, member string, timeout time.Duration) {
	t.Helper()
	framework.Eventually(t, timeout, member+"'s container ended", func() (bool, error) {
		p, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), member, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == "postgres" && (cs.State.Terminated != nil || cs.RestartCount > 0) {
				return true, nil
			}
		}
		return p.Status.Phase == corev1.PodFailed, framework.Errorf("phase %s", p.Status.Phase)
	})
}
