// Command promqlnames parses PromQL expressions with Prometheus' own parser
// and prints the metric names each one selects.
//
// It reads a JSON array of expressions on stdin and writes a JSON object
// mapping each expression to its sorted metric names, or to why they could
// not be told: the parser's error, or a selector that does not name its
// metric. It exits non-zero only when it cannot read or write.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// result is what promqlnames says of one expression.
type result struct {
	Metrics []string `json:"metrics,omitempty"`
	Error   string   `json:"error,omitempty"`
}

func main() {
	var exprs []string
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		fmt.Fprintln(os.Stderr, "promqlnames: reading a JSON array of expressions:", err)
		os.Exit(2)
	}
	out := map[string]result{}
	for _, e := range exprs {
		names, err := metricNames(e)
		if err != nil {
			out[e] = result{Error: err.Error()}
			continue
		}
		out[e] = result{Metrics: names}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "promqlnames:", err)
		os.Exit(2)
	}
}

// metricNames parses expr and collects the names of its vector selectors.
func metricNames(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	names := []string{}
	var inspectErr error
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName {
				if m.Type != labels.MatchEqual {
					inspectErr = fmt.Errorf("selector %s matches metric names by pattern", vs)
				}
				name = m.Value
			}
		}
		if name == "" && inspectErr == nil {
			inspectErr = fmt.Errorf("selector %s names no metric", vs)
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		return nil
	})
	if inspectErr != nil {
		return nil, inspectErr
	}
	slices.Sort(names)
	return names, nil
}
