package pgsim

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteMetrics writes the Stats in Prometheus' text format, for the
// bench to scrape: above all pgsim_unknown_statements_total, which must
// stay absent (the operator's SQL drifted from queries.go otherwise).
func (s *Server) WriteMetrics(w io.Writer) error {
	st := s.Stats()
	var b strings.Builder
	counter(&b, "pgsim_connections_total", "Connections accepted.", st.Connections)
	counter(&b, "pgsim_statements_total", "Statements executed.", st.Statements)
	counter(&b, "pgsim_script_statements_simulated_total", "Statements of user scripts answered without effect.", st.Simulated)
	b.WriteString("# HELP pgsim_unknown_statements_total Statements pgsim does not simulate (answered 0A000), by their first 60 characters.\n")
	b.WriteString("# TYPE pgsim_unknown_statements_total counter\n")
	queries := make([]string, 0, len(st.Unknown))
	for q := range st.Unknown {
		queries = append(queries, q)
	}
	sort.Strings(queries)
	for _, q := range queries {
		fmt.Fprintf(&b, "pgsim_unknown_statements_total{query=\"%s\"} %d\n", escapeLabel(q), st.Unknown[q])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func counter(b *strings.Builder, name, help string, v int64) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
}

func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}
