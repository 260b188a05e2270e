package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkScrape is one Prometheus scrape of an operator with ten
// size-1 clusters whose statistics were read, as the metrics-cost bench
// runs it: the CPU a scrape costs the operator.
func BenchmarkScrape(b *testing.B) {
	m := New()
	for i := range 10 {
		m.ObserveCluster("bench", fmt.Sprintf("m-%d", i), withStats(sampleOf(1)))
	}
	h := m.Handler()
	for _, enc := range []string{"", "gzip"} {
		b.Run("encoding="+enc, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept-Encoding", enc)
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
