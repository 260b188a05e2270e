package metrics

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func serveWith(t *testing.T, h http.Handler, acceptEncoding string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func gunzip(t *testing.T, r io.Reader) string {
	t.Helper()
	zr, err := gzip.NewReader(r)
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	return string(b)
}

func TestGzipCompressesWhenAsked(t *testing.T) {
	body := strings.Repeat("postgres_operator_member_up{namespace=\"a\",cluster=\"b\",member=\"b-1\"} 1\n", 100)
	h := withGzip(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }))
	for _, ae := range []string{"gzip", "gzip, deflate", "deflate, GZIP;q=0.5"} {
		resp := serveWith(t, h, ae)
		assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), ae)
		assert.Equal(t, body, gunzip(t, resp.Body), ae)
	}
}

func TestGzipPlainWhenNotAsked(t *testing.T) {
	h := withGzip(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "up 1\n") }))
	for _, ae := range []string{"", "identity", "deflate", "gzip;q=0"} {
		resp := serveWith(t, h, ae)
		assert.Empty(t, resp.Header.Get("Content-Encoding"), ae)
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, "up 1\n", string(b), ae)
	}
}

// http.Error drops a Content-Encoding set before it; the error still
// arrives whole, its status kept.
func TestGzipKeepsAnErrorReadable(t *testing.T) {
	h := withGzip(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "too many scrapes", http.StatusServiceUnavailable)
	}))
	resp := serveWith(t, h, "gzip")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	assert.Equal(t, "too many scrapes\n", gunzip(t, resp.Body))
}

func TestGzipEmptyBodyIsAStream(t *testing.T) {
	h := withGzip(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	resp := serveWith(t, h, "gzip")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, gunzip(t, resp.Body))
}

// The compressors outlive garbage collections: one given back is the one
// taken next.
func TestGzipWritersAreKept(t *testing.T) {
	h := withGzip(http.NotFoundHandler()).(*gzipHandler)
	gz := h.take()
	h.give(gz)
	assert.Same(t, gz, h.take())
}

// The whole registry through the handler: what Prometheus receives.
func TestHandlerServesGzippedRegistry(t *testing.T) {
	m := New()
	m.ObserveCluster("ns", "c", withStats(sampleOf(1)))
	resp := serveWith(t, m.Handler(), "gzip")
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	assert.Contains(t, gunzip(t, resp.Body), `postgres_operator_member_up{cluster="c",member="a-1",namespace="ns"} 1`)
}
