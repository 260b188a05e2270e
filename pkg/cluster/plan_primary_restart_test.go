package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// tinyMemory: a memory limit PostgreSQL cannot start in.
func tinyMemory(p *v1alpha1.PostgresCluster) {
	p.Spec.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("40Mi")}
}

// oomKilledAt: the kernel killed the container for its memory limit.
func oomKilledAt(at time.Time) memberOpt {
	return func(m *member) {
		m.pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: containerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 137, Reason: oomKilled, FinishedAt: metav1.NewTime(at)}}}}}
		m.db = nil
	}
}

func TestPlanRestartPrimary(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1), tinyMemory)
	fixed := testCluster(1, initialized("demo-1", 1))
	restarted := func(pgc *v1alpha1.PostgresCluster, count int, ago time.Duration) planInput {
		in := failoverInput(pgc, testMember(pgc, 1, noPod))
		in.primaryRestarts = map[string]primaryRestarts{"demo-1": {count: count, at: now.Add(-ago),
			spec: restartSpec(testCluster(1, tinyMemory), in.image), exit: " (exit code 137: OOMKilled, …)"}}
		return in
	}
	tests := []struct {
		name     string
		in       planInput
		kind     actionKind
		contains string
	}{
		{name: "the first restart is at once", in: failoverInput(pgc, testMember(pgc, 1, noPod)),
			kind: actRecreatePod, contains: "restarting the primary demo-1 on its volume"},
		{name: "a primary that keeps failing waits out the back-off, saying how it ended",
			in: restarted(pgc, 3, time.Second), kind: actWait, contains: "(3 failures in a row) (exit code 137: OOMKilled"},
		{name: "and is restarted once the back-off is over",
			in: restarted(pgc, 3, 4*time.Second), kind: actRecreatePod, contains: "keeps failing"},
		{name: "the back-off stops at a minute",
			in: restarted(pgc, 20, time.Minute), kind: actRecreatePod},
		{name: "a changed spec is tried at once", in: restarted(fixed, 20, time.Second), kind: actRecreatePod,
			contains: "restarting the primary demo-1 on its volume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			assert.Equal(t, "demo-1", got.member)
			assert.Contains(t, got.reason, tt.contains)
			assert.Equal(t, v1alpha1.PhaseRecovering, phaseOf(tt.in.cluster, tt.in.obs, got))
			assert.Equal(t, got.kind == actRecreatePod, got.restart, "a restart counts towards the back-off")
		})
	}
}

// A size-1 cluster whose primary is killed for its memory limit at every
// start: the actor fences it and restarts it on its volume, then backs
// off, saying why in the status; raising the limit restarts it at once.
func TestPrimaryKilledAtEveryStartBacksOff(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1), tinyMemory)
	w := newWorld(t, pgc, testMember(pgc, 1, noPod))
	clk := testingclock.NewFakeClock(now)
	w.c.cfg.Clock = clk
	gone := func(p *corev1.Pod) bool { return p == nil }
	exists := func(p *corev1.Pod) bool { return p != nil && p.DeletionTimestamp == nil }

	killAndFence := func() {
		w.setPodStatus("demo-1", oomKilledAt(clk.Now()))
		w.waitPod("demo-1", func(p *corev1.Pod) bool { return p != nil && exitDetail(p) != "" })
		w.pass() // fenced; the kubelet confirms the deletion
		require.NoError(t, w.kube.CoreV1().Pods(w.key.Namespace).Delete(w.ctx, "demo-1", metav1.DeleteOptions{}))
		w.waitPod("demo-1", gone)
		w.pass()
	}
	progressing := func() string {
		c := meta.FindStatusCondition(w.current().Status.Conditions, v1alpha1.ConditionProgressing)
		require.NotNil(t, c)
		return c.Message
	}

	w.pass()
	w.waitPod("demo-1", exists) // the first restart is at once
	killAndFence()
	w.waitPod("demo-1", gone)
	assert.Contains(t, progressing(), "keeps failing as it starts on its volume (1 failure in a row)")
	assert.Contains(t, progressing(), "OOMKilled, it used more than its memory limit 40Mi")

	clk.Step(time.Second)
	w.pass()
	w.waitPod("demo-1", exists)
	killAndFence()
	w.waitPod("demo-1", gone)
	assert.Contains(t, progressing(), "(2 failures in a row)")
	assert.Contains(t, progressing(), "restarting it 2s after its last start")

	raised := w.current()
	raised.Spec.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}
	_, err := w.pg.PostgresV1alpha1().PostgresClusters(w.key.Namespace).Update(w.ctx, raised, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		w.pass()
		p, err := w.c.cfg.Listers.Pods.Pods(w.key.Namespace).Get("demo-1")
		return err == nil && p.Spec.Containers[0].Resources.Limits.Memory().String() == "1Gi"
	}, 10*time.Second, 10*time.Millisecond, "the fixed spec restarts it at once, without waiting out the back-off")
}

// runningSince: the member's container has run since at.
func runningSince(at time.Time) memberOpt {
	return func(m *member) {
		m.pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(at)}}}}
	}
}

// A member that answers for a moment after each restart, then is killed
// (by the memory of its first connections), keeps its failures in a row;
// one that has stayed up a minute is forgiven them.
func TestRestartsForgottenOnceTheMemberStaysUp(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	c := New(&Config{}, cache.ObjectName{Namespace: pgc.Namespace, Name: pgc.Name}, pgc, func(error) {})
	c.primaryRestarts["demo-1"] = primaryRestarts{count: 3, at: now}
	c.restarts["demo-2"] = 3
	obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary), runningSince(now)), testMember(pgc, 2, up(RoleReplica), runningSince(now)))

	c.trackPrimaryRestarts(now.Add(restartsForgottenAfter-time.Second), obs)
	c.trackHealth(now.Add(restartsForgottenAfter-time.Second), obs)
	assert.Equal(t, 3, c.primaryRestarts["demo-1"].count, "ready for a moment")
	assert.Equal(t, 3, c.restarts["demo-2"], "ready for a moment")

	c.trackPrimaryRestarts(now.Add(restartsForgottenAfter), obs)
	c.trackHealth(now.Add(restartsForgottenAfter), obs)
	assert.NotContains(t, c.primaryRestarts, "demo-1")
	assert.NotContains(t, c.restarts, "demo-2")

	c.primaryRestarts["demo-1"] = primaryRestarts{count: 1, at: now}
	c.trackPrimaryRestarts(now, obsOf(pgc, testMember(pgc, 1, oomKilledAt(now), withRole(RolePrimary))))
	assert.Contains(t, c.primaryRestarts["demo-1"].exit, "OOMKilled", "how its pod ended is kept for the next wait")
}
