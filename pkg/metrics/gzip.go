package metrics

import (
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
)

// Prometheus asks for gzip. promhttp compresses at the default level with
// writers from a sync.Pool, which every garbage collection empties: at one
// scrape every 15 s nearly every scrape built and cleared a new compressor
// (about a megabyte) and then spent longer compressing than encoding, most
// of a scrape's CPU in a profile of an idle operator. Here the body is
// compressed at BestSpeed (the text format's repeated names compress well
// at any level), by writers kept across collections.

// gzipWriters is how many compressors are kept: one per scrape allowed in
// flight (Handler's MaxRequestsInFlight).
const gzipWriters = 4

type gzipHandler struct {
	next    http.Handler
	writers chan *gzip.Writer
}

func withGzip(next http.Handler) http.Handler {
	return &gzipHandler{next: next, writers: make(chan *gzip.Writer, gzipWriters)}
}

func (h *gzipHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.next.ServeHTTP(w, r)
		return
	}
	gz := h.take()
	gz.Reset(w)
	defer h.give(gz)
	zw := &gzipResponseWriter{ResponseWriter: w, gz: gz}
	h.next.ServeHTTP(zw, r)
	zw.WriteHeader(http.StatusOK) // an empty body is still a gzip stream
	_ = gz.Close()
}

func (h *gzipHandler) take() *gzip.Writer {
	select {
	case gz := <-h.writers:
		return gz
	default:
		gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
		return gz
	}
}

func (h *gzipHandler) give(gz *gzip.Writer) {
	select {
	case h.writers <- gz:
	default:
	}
}

// acceptsGzip: the Accept-Encoding header lists gzip, and not with q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q, found := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			weight, err := strconv.ParseFloat(q, 64)
			return !found || err != nil || weight > 0
		}
	}
	return false
}

// gzipResponseWriter compresses the body. The header says gzip when it is
// sent, not before: http.Error, which the inner handler uses, drops a
// Content-Encoding set earlier.
type gzipResponseWriter struct {
	http.ResponseWriter
	gz          *gzip.Writer
	wroteHeader bool
}

func (w *gzipResponseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Encoding", "gzip")
	w.ResponseWriter.WriteHeader(code)
}

func (w *gzipResponseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.gz.Write(b)
}
