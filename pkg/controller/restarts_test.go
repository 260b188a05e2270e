package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	pgfake "postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned/fake"
)

func TestRestartDelayDoublesUpToTheMax(t *testing.T) {
	p := restartPolicy{baseDelay: time.Second, maxDelay: 5 * time.Minute}
	for inARow, want := range map[int]time.Duration{
		0: time.Second, 1: 2 * time.Second, 2: 4 * time.Second, 8: 256 * time.Second,
		9: 5 * time.Minute, 10: 5 * time.Minute, 1000: 5 * time.Minute,
	} {
		assert.Equal(t, want, p.delay(inARow), "after %d panics in a row", inARow)
	}
}

// A runner that panics never takes the operator down: each panic is a
// Warning Event (no stack) and a fresh runner, started after a delay that
// doubles, from the newest object.
func TestRunnerPanicIsReportedAndRestartedWithBackoff(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	key := keyOf(pgc)
	base := 20 * time.Millisecond
	f := newFixture(t, Options{RestartBaseDelay: base, RestartMaxDelay: time.Second}, []string{""}, pgc)
	f.runners.setPanics(3)
	f.run()

	healthy := f.runners.waitRunner(t, key, 4)
	waitClosed(t, "the fourth runner started", healthy.started)
	for i := 1; i <= 3; i++ {
		msg := expectEventWith(t, f, "Warning ActorPanicked")
		assert.Contains(t, msg, "boom")
		assert.NotContains(t, msg, "goroutine", "no stack in the Event")
	}
	// Each restart waited at least base, 2*base, 4*base after the panic
	// (which happens as the runner starts).
	for i := 1; i <= 3; i++ {
		prev, next := f.runners.waitRunner(t, key, i), f.runners.waitRunner(t, key, i+1)
		waitClosed(t, "runner started", prev.started)
		waitClosed(t, "runner started", next.started)
		gap := next.startedAt.Sub(prev.startedAt)
		assert.GreaterOrEqual(t, gap, base<<(i-1), "restart %d waited", i)
	}
	assert.Equal(t, "1", healthy.initial.ResourceVersion)

	// The restarted runner is the one the controller talks to.
	changed := pgc.DeepCopy()
	changed.ResourceVersion, changed.Spec.Size = "2", 3
	f.updateCluster(changed)
	healthy.waitUpdate(t, "Update reaches the restarted runner", hasVersion("2"))
	assert.Equal(t, 4, f.runners.count(key))
}

// A cluster deleted while its runner waits to be restarted is not restarted.
func TestDeleteDuringRestartDelayStopsForGood(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	key := keyOf(pgc)
	f := newFixture(t, Options{RestartBaseDelay: time.Hour, RestartMaxDelay: time.Hour}, []string{""}, pgc)
	f.runners.setPanics(1)
	f.run()
	r := f.runners.waitRunner(t, key, 1)
	waitClosed(t, "runner started", r.started)
	expectEventWith(t, f, "Warning ActorPanicked")

	f.deleteCluster(pgc)
	waitUntil(t, "entry removed", func() bool { return f.ctrl.runners.get(key) == nil })
	assert.Equal(t, 1, f.runners.count(key), "no restart after the delete")
}

// expectEventWith waits for the next Event and checks its prefix.
func expectEventWith(t *testing.T, f *fixture, prefix string) string {
	t.Helper()
	select {
	case e := <-f.recorder.Events:
		require.True(t, strings.HasPrefix(e, prefix), "event %q, want prefix %q", e, prefix)
		return e
	case <-time.After(waitTimeout):
		t.Fatalf("no Event %q", prefix)
		return ""
	}
}

// The panic also shows as Degraded=True, reason ActorPanicked, on the
// cluster itself, until the restarted actor recomputes its conditions.
func TestRunnerPanicMarksTheClusterDegraded(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	f := newFixture(t, Options{RestartBaseDelay: time.Minute, RestartMaxDelay: time.Minute}, []string{""}, pgc)
	status := pgfake.NewClientset(pgc.DeepCopy()) // the fixture's own clientset allows reads only
	f.ctrl.opts.Clusters = status.PostgresV1alpha1()
	f.runners.setPanics(1)
	f.run()

	expectEventWith(t, f, "Warning ActorPanicked")
	waitUntil(t, "the Degraded condition", func() bool {
		got, err := status.PostgresV1alpha1().PostgresClusters("ns-a").Get(f.ctx, "db", metav1.GetOptions{})
		require.NoError(t, err)
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDegraded)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == ReasonActorPanicked &&
			strings.Contains(c.Message, "boom")
	})
}
