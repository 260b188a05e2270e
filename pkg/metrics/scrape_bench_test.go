package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// BenchmarkScrape is one Prometheus scrape of an operator with ten
// size-1 clusters whose statistics were read, as the metrics-cost bench
// runs it: the CPU a scrape costs the operator. cpu-ns/op is the process's
// CPU per scrape, the garbage collector's included, which ns/op misses on
// more than one core and overstates on a busy machine.
func BenchmarkScrape(b *testing.B) {
	m := New()
	for i := range 10 {
		m.ObserveCluster("bench", fmt.Sprintf("m-%d", i), withStats(sampleOf(1)))
	}
	h := m.Handler()
	for _, enc := range []string{"", "gzip"} {
		b.Run("encoding="+enc, func(b *testing.B) {
			cpu := processCPU(b)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept-Encoding", enc)
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU this process used so far, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkObserveCluster is what a pass costs the metrics of a size-1
// cluster: nothing new (most passes), or the member's statistics read
// again (once per --pg-stats-interval), whose series are rebuilt.
func BenchmarkObserveCluster(b *testing.B) {
	m := New()
	s := withStats(sampleOf(1))
	m.ObserveCluster("bench", "m", s)
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			m.ObserveCluster("bench", "m", s)
		}
	})
	b.Run("stats-read", func(b *testing.B) {
		reads := [2]ClusterSample{withStats(sampleOf(1)), withStats(sampleOf(1))}
		i := 0
		for b.Loop() {
			i ^= 1
			m.ObserveCluster("bench", "m", reads[i])
		}
	})
}
