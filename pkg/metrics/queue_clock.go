package metrics

import (
	"time"

	"k8s.io/utils/clock"
)

// With a metrics provider installed (RegisterClientGo), every client-go
// workqueue refreshes its unfinished-work gauges on a ticker of its own
// every 500 ms, and each tick wakes the idle process: about 90 µs of CPU a
// tick on this machine, so the operator's three queues cost it half a
// millisecond every second, more than its scrapes and statistics reads
// together. The gauges are read by scrapes 15 s or more apart: refreshing
// them every 5 s shows the same.

// queueGaugePeriod is the least period of a workqueue's ticker.
const queueGaugePeriod = 5 * time.Second

// QueueClock is the clock to give a workqueue (its Config's Clock): c, with
// tickers no faster than queueGaugePeriod. The queue's only other ticker,
// the delaying queue's 10 s heartbeat, is slower already.
func QueueClock(c clock.WithTicker) clock.WithTicker { return slowTicks{c} }

type slowTicks struct{ clock.WithTicker }

func (s slowTicks) NewTicker(d time.Duration) clock.Ticker {
	return s.WithTicker.NewTicker(max(d, queueGaugePeriod))
}
