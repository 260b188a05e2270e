package metrics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
)

// The queues' 500 ms ticker ticks every 5 s.
func TestQueueClockSlowsFastTickers(t *testing.T) {
	fake := clocktesting.NewFakeClock(time.Now())
	tk := QueueClock(fake).NewTicker(500 * time.Millisecond)
	defer tk.Stop()
	fake.Step(time.Second) // the fake clock delivers a due tick within Step
	select {
	case <-tk.C():
		t.Fatal("ticked after 1 s")
	default:
	}
	fake.Step(4 * time.Second)
	select {
	case <-tk.C():
	default:
		t.Fatal("no tick after 5 s")
	}
}

// A queue made with QueueClock still refreshes its unfinished-work gauge.
func TestQueueClockQueueRefreshesItsGauges(t *testing.T) {
	m := New()
	fake := clocktesting.NewFakeClock(time.Now())
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{
		Name: "q", MetricsProvider: m.WorkqueueProvider(), Clock: QueueClock(fake)})
	defer q.ShutDown()
	q.Add("a")
	_, _ = q.Get() // in progress from now

	require.Eventually(t, fake.HasWaiters, time.Second, time.Millisecond, "the queue's ticker")
	fake.Step(5 * time.Second)
	assert.Eventually(t, func() bool { return gaugeValue(t, m, "workqueue_unfinished_work_seconds", "q") >= 5 },
		time.Second, 5*time.Millisecond, "refreshed after 5 s")
}

func TestQueueClockKeepsSlowTickers(t *testing.T) {
	fake := clocktesting.NewFakeClock(time.Now())
	tk := QueueClock(fake).NewTicker(10 * time.Second)
	defer tk.Stop()
	fake.Step(5 * time.Second)
	select {
	case <-tk.C():
		t.Fatal("a 10 s ticker ticked after 5 s")
	default:
	}
	fake.Step(5 * time.Second)
	select {
	case <-tk.C():
	case <-time.After(time.Second):
		t.Fatal("a 10 s ticker did not tick after 10 s")
	}
}

func gaugeValue(t *testing.T, m *Metrics, name, queue string) float64 {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "name" && l.GetValue() == queue {
					return s.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}
