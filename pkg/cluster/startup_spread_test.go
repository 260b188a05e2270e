package cluster

import (
	"context"

	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func spreadCluster(created time.Time, phase v1alpha1.ClusterPhase, ready metav1.ConditionStatus) *v1alpha1.PostgresCluster {
	pgc := &v1alpha1.PostgresCluster{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)}}
	pgc.Status.Phase = phase
	pgc.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: ready}}
	return pgc
}

// maxSpread replaces the random pick with the whole window left, so the
// tests see the bound itself.
func maxSpread(started time.Time, clusters int) *StartupSpread {
	s := NewStartupSpread(started, func() int { return clusters })
	s.rand = func(d time.Duration) time.Duration { return max(d, 0) }
	return s
}

func TestStartupSpreadHoldsOnlyHealthyOldClusters(t *testing.T) {
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	s := maxSpread(start, 1000)
	old := start.Add(-time.Hour)

	assert.Equal(t, 10*time.Second, s.FirstPassDelay(spreadCluster(old, v1alpha1.PhaseRunning, metav1.ConditionTrue), start),
		"1,000 clusters: a 10 s window")
	assert.Zero(t, s.FirstPassDelay(spreadCluster(old, v1alpha1.PhaseRunning, metav1.ConditionFalse), start),
		"not Ready: may need help at once")
	assert.Zero(t, s.FirstPassDelay(spreadCluster(old, v1alpha1.PhaseFailingOver, metav1.ConditionTrue), start))
	assert.Zero(t, s.FirstPassDelay(spreadCluster(start.Add(time.Second), v1alpha1.PhaseRunning, metav1.ConditionTrue), start),
		"created after the start: a user waits for it")
	assert.Zero(t, s.FirstPassDelay(&v1alpha1.PostgresCluster{}, start), "no status yet")
}

func TestStartupSpreadWindow(t *testing.T) {
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	healthy := spreadCluster(start.Add(-time.Hour), v1alpha1.PhaseRunning, metav1.ConditionTrue)

	assert.Equal(t, 15*time.Second, maxSpread(start, 5000).FirstPassDelay(healthy, start), "capped")
	assert.Equal(t, 100*time.Millisecond, maxSpread(start, 10).FirstPassDelay(healthy, start), "a small fleet hardly waits")
	s := maxSpread(start, 1000)
	assert.Equal(t, 10*time.Second, s.FirstPassDelay(healthy, start.Add(3*time.Second)),
		"the window opens with the first actor, after the informers' sync")
	assert.Equal(t, 4*time.Second, s.FirstPassDelay(healthy, start.Add(9*time.Second)),
		"an actor started later waits only for what is left")
	assert.Zero(t, s.FirstPassDelay(healthy, start.Add(time.Minute)), "window over")
}

func TestStartupSpreadRandomStaysInWindow(t *testing.T) {
	start := time.Now()
	s := NewStartupSpread(start, func() int { return 300 })
	healthy := spreadCluster(start.Add(-time.Hour), v1alpha1.PhaseRunning, metav1.ConditionTrue)
	for range 200 {
		d := s.FirstPassDelay(healthy, start)
		assert.GreaterOrEqual(t, d, time.Duration(0))
		assert.Less(t, d, 3*time.Second)
	}
	var nilSpread *StartupSpread
	assert.Zero(t, nilSpread.FirstPassDelay(healthy, start))
}

// The actor holds its first pass for FirstPassDelay; an update that comes
// meanwhile does not cut the wait short, it is folded into that pass.
func TestActorHoldsItsFirstPass(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica)))
	clk := testingclock.NewFakeClock(time.Now())
	w.c.cfg.Clock = clk
	w.c.cfg.FirstPassDelay = 5 * time.Second
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(w.ctx)
	go func() { w.c.Run(ctx); close(done) }()

	require.Eventually(t, clk.HasWaiters, 10*time.Second, time.Millisecond, "the actor waits on its clock")
	w.c.Update(w.current())
	clk.Step(4 * time.Second)
	assert.Never(t, func() bool { return len(w.hb.running()) > 0 }, 200*time.Millisecond, 10*time.Millisecond,
		"no pass (the first starts the heartbeat) before the delay is over")
	clk.Step(time.Second)
	require.Eventually(t, func() bool { return len(w.hb.running()) == 1 }, 10*time.Second, 10*time.Millisecond, "first pass ran")
	cancel()
	<-done
}

// Cancelled while holding: the actor stops without a pass.
func TestActorStopsWhileHolding(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica)))
	w.c.cfg.Clock = testingclock.NewFakeClock(time.Now())
	w.c.cfg.FirstPassDelay = time.Hour
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan struct{})
	go func() { w.c.Run(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("actor still holding after cancel")
	}
	assert.Empty(t, w.hb.started)
}
