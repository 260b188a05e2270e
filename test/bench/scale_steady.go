package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// fleetSteady is the operator serving the idle fleet over a window: idle.go's
// measurement (RSS every second, CPU, the FlowSchema counts and object
// changes in the fleet's namespace) plus what the leader's /metrics, its
// network namespace and the node say at the window's two ends.
type fleetSteady struct {
	idle
	members          int
	m0, m1           []promSample // the leader's /metrics
	opens            int64        // TCP connections the operator's pod opened
	n0, n1           nodeSample
	leader0, leader1 string
}

func (e *env) runSteady(ctx context.Context, ns string, plan []fleetCluster, apf *apfSet) (*fleetSteady, error) {
	var err error
	s := &fleetSteady{idle: idle{n: len(plan), window: e.opts.scale.window}, members: members(plan)}
	// Past the last batch's status writes and the first statistics round
	// of its members (every 30 s), as the metrics scenario waits.
	wait := e.opts.quiet + 30*time.Second
	logf("scale: fleet Ready; steady window of %s starts in %s", s.window, wait)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(wait):
	}
	s.leader0 = e.operatorIdentity(ctx)
	if s.operatorPID, err = e.operatorPID(ctx); err != nil {
		return nil, err
	}
	addr, err := e.leaderMetricsAddr(ctx)
	if err != nil {
		return nil, err
	}
	if s.m0, err = scrapeMetrics(ctx, addr); err != nil {
		return nil, err
	}
	opens0, err := tcpActiveOpens(s.operatorPID)
	if err != nil {
		return nil, err
	}
	runDir := filepath.Join(filepath.Dir(filepath.Dir(e.opts.kubeconfig)), "run")
	s.n0 = sampleNode(runDir)
	if err := s.measure(ctx, e, ns, apf); err != nil {
		return nil, err
	}
	s.n1 = sampleNode(runDir)
	opens1, err := tcpActiveOpens(s.operatorPID)
	if err != nil {
		return nil, err
	}
	s.opens = opens1 - opens0
	if s.m1, err = scrapeMetrics(ctx, addr); err != nil {
		return nil, err
	}
	s.leader1 = e.operatorIdentity(ctx)
	return s, nil
}

// rate is a count over the window, per second.
func (s *fleetSteady) rate(v float64) float64 { return v / s.window.Seconds() }

// delta is a counter's growth over the window; -1 when it was not served.
func (s *fleetSteady) delta(name string) float64 {
	a, b := metricTotal(s.m0, name), metricTotal(s.m1, name)
	if a < 0 || b < 0 {
		return -1
	}
	return b - a
}

// byMethod is the operator's API requests per minute by HTTP method.
func (s *fleetSteady) byMethod() string {
	a, b := sumBy(s.m0, "rest_client_requests_total", "method"), sumBy(s.m1, "rest_client_requests_total", "method")
	var parts []string
	for m, v := range b {
		if d := v - a[m]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f", m, 60*s.rate(d)))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ") + " /min"
}

// componentsCPU is each local-cluster process's share of a core.
func (s *fleetSteady) componentsCPU() string {
	var parts []string
	for _, c := range components {
		a, ok0 := s.n0.components[c]
		b, ok1 := s.n1.components[c]
		if ok0 && ok1 {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", c, 100*s.rate(float64(b-a)/userHZ)))
		}
	}
	if len(parts) == 0 {
		return "not found"
	}
	return strings.Join(parts, ", ")
}

func (s *fleetSteady) table() *table {
	t := newTable(fmt.Sprintf("Operator at scale: %d clusters, %d members, steady window %s (issue 12)",
		s.n, s.members, s.window.Round(time.Second)), "figure", "value", "goal")
	judged := func(what, cell string, g goal, v float64) {
		t.add(what, t.judged(cell, what, g, single, v), g.String())
	}
	perMin := func(v float64) string { return fmt.Sprintf("%.2f /min", 60*s.rate(v)) }
	cores := s.rate(s.cpuSeconds)
	judged("operator RSS, mean / max (judged on max)", mib(s.rssMean)+" / "+mib(s.rssMax), goalScaleRSS, float64(s.rssMax)/(1<<20))
	judged("operator CPU, mean", fmt.Sprintf("%.3f core (%.1f%% of one)", cores, 100*cores), goalScaleCPU, cores)
	judged("API writes in the fleet's namespace (FlowSchema)", perMin(s.steady.writes), goalScaleWrites, 60*s.rate(s.steady.writes))
	judged("object changes there by the operator, seen by watches", perMin(float64(s.operatorChanges)), goalScaleWrites, 60*s.rate(float64(s.operatorChanges)))
	t.add("  by anyone (the API server's own repairs too)", perMin(float64(s.changeTotal)), "")
	t.add("API reads in the fleet's namespace (FlowSchema)", perMin(s.steady.reads), "")
	t.add("the operator's API requests by method (all namespaces)", s.byMethod(), "")
	t.add("  of which its leader-election Lease (FlowSchema)", perMin(s.steady.lease), "")
	t.add("goroutines, start / end", fmt.Sprintf("%.0f / %.0f", metricTotal(s.m0, "go_goroutines"), metricTotal(s.m1, "go_goroutines")), "")
	passes := s.delta("postgres_operator_reconcile_passes_total")
	if passes > 0 {
		t.add("reconcile passes", fmt.Sprintf("%.2f /s (one per cluster every %.1f s)", s.rate(passes), float64(s.n)/s.rate(passes)), "")
	}
	t.add("SQL connections the operator opened", fmt.Sprintf("%.2f /s (%.1f per member per minute)",
		s.rate(float64(s.opens)), 60*s.rate(float64(s.opens))/float64(s.members)), "")
	t.add("kubelet readiness probes (psql exec every 2 s)", fmt.Sprintf("%.1f /s (from the pod spec, not measured)", float64(s.members)/2), "")
	busy := float64(s.n1.busy-s.n0.busy) / float64(max(s.n1.all-s.n0.all, 1))
	t.add("node CPU busy", fmt.Sprintf("%.0f%% of %d cores", 100*busy, runtime.NumCPU()), "")
	t.add("  local-cluster processes (% of a core)", s.componentsCPU(), "")
	t.add("  containerd shims with their exec probes (runc, psql)", fmt.Sprintf("%.1f%% of a core", 100*s.rate(float64(s.n1.shims-s.n0.shims)/userHZ)), "")
	t.add("node memory in use (MemTotal − MemAvailable)", fmt.Sprintf("%.1f GiB of %.1f", float64(s.n1.memUsed)/(1<<30), float64(s.n1.memTotal)/(1<<30)), "")
	if s.leader0 != s.leader1 {
		t.note("✗ the operator restarted during the window (%s → %s): its figures are not the steady state", s.leader0, s.leader1)
	}
	t.note("operator PID %d (the Lease holder's container); %d PostgresClusters in all namespaces (the local cluster is shared).", s.operatorPID, s.clustersOnOperator)
	t.note("changes during the window: %s", s.changes)
	t.note("method: RSS every second and CPU from /proc of the leader's process; writes and reads: FlowSchemas matching only the")
	t.note("  operator's ServiceAccount in the fleet's namespace (apiserver_flowcontrol_dispatched_requests_total, no-op writes included);")
	t.note("  requests by method and goroutines: the leader's /metrics (rest_client_requests_total, go_goroutines) at both ends;")
	t.note("  a method is the HTTP verb: GET = get and list (and a watch when one starts), POST = create, PUT = update, PATCH, DELETE;")
	t.note("  reconcile passes: postgres_operator_reconcile_passes_total; each pass probes every member of its cluster over SQL;")
	t.note("  SQL connections: TCP ActiveOpens of the operator pod's network namespace (/proc/<pid>/net/snmp): the operator opens")
	t.note("  one connection per SQL call (probes, statistics every 30 s); its API connections are long-lived and add ~0.")
	return t
}
