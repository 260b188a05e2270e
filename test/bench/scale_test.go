package main

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFleetPlan(t *testing.T) {
	plan := fleetPlan(100, 20, false)
	if len(plan) != 100 || members(plan) != 140 {
		t.Fatalf("100 clusters, 20 of size 3: got %d clusters, %d members; want 100, 140", len(plan), members(plan))
	}
	if plan[0].name != "c0001" || plan[99].name != "c0100" {
		t.Errorf("names: %s … %s", plan[0].name, plan[99].name)
	}
	for i, b := range batches(plan, 20) {
		threes := 0
		for _, c := range b {
			if c.size == 3 {
				threes++
			}
		}
		if len(b) != 20 || threes != 4 {
			t.Errorf("batch %d: %d clusters, %d of size 3; want 20 and 4 (spread evenly)", i+1, len(b), threes)
		}
	}
	for _, c := range []struct{ n, size3, members int }{{5, 0, 5}, {3, 3, 9}, {7, 1, 9}, {1, 1, 3}} {
		if got := members(fleetPlan(c.n, c.size3, false)); got != c.members {
			t.Errorf("fleetPlan(%d, %d): %d members, want %d", c.n, c.size3, got, c.members)
		}
	}
}

func TestBatches(t *testing.T) {
	var sizes []int
	for _, b := range batches(fleetPlan(45, 0, false), 20) {
		sizes = append(sizes, len(b))
	}
	if !slices.Equal(sizes, []int{20, 20, 5}) {
		t.Errorf("45 in batches of 20: %v", sizes)
	}
	if b := batches(nil, 20); len(b) != 0 {
		t.Errorf("no clusters: %d batches", len(b))
	}
}

func TestChangeOrder(t *testing.T) {
	got := changeOrder([]fleetCluster{{"a", 3, false}, {"b", 1, false}, {"c", 1, false}, {"d", 3, false}})
	if !slices.Equal(got, []string{"b", "c", "a", "d"}) {
		t.Errorf("size 1 first, in order: %v", got)
	}
}

const metricsText = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 412
rest_client_requests_total{code="200",host="10.96.0.1:443",method="GET"} 1500
rest_client_requests_total{code="200",host="10.96.0.1:443",method="PUT"} 30
rest_client_requests_total{code="409",host="10.96.0.1:443",method="PUT"} 2
postgres_operator_reconcile_passes_total{outcome="ok"} 9000
postgres_operator_reconcile_passes_total{outcome="error"} 12
postgres_operator_cluster_ready{cluster="c0001",namespace="bench-fleet-x"} 1
postgres_operator_cluster_ready{cluster="c002",namespace="bench-fleet-x"} 0
postgres_operator_cluster_ready{cluster="other",namespace="elsewhere"} 1
weird{a="say \"hi\"",b="back\\slash",c="two\nlines",d="}{,="} NaN 1700000000000
broken{a="unterminated} 1
`

func TestParsePromText(t *testing.T) {
	ss := parsePromText(metricsText)
	if len(ss) != 10 {
		t.Fatalf("%d samples, want 10 (comments and the broken line skipped): %+v", len(ss), ss)
	}
	if v := metricTotal(ss, "go_goroutines"); v != 412 {
		t.Errorf("go_goroutines = %v", v)
	}
	if v := metricTotal(ss, "postgres_operator_reconcile_passes_total"); v != 9012 {
		t.Errorf("passes = %v, want both outcomes added", v)
	}
	if v := metricTotal(ss, "absent"); v != -1 {
		t.Errorf("an absent metric = %v, want -1", v)
	}
	byMethod := sumBy(ss, "rest_client_requests_total", "method")
	if byMethod["GET"] != 1500 || byMethod["PUT"] != 32 || len(byMethod) != 2 {
		t.Errorf("by method: %v", byMethod)
	}
	if n, ones := seriesIn(ss, "postgres_operator_cluster_ready", "bench-fleet-x"); n != 2 || ones != 1 {
		t.Errorf("series in the fleet's namespace: %d, %d ready; want 2, 1", n, ones)
	}
	w := ss[9]
	if w.name != "weird" || !math.IsNaN(w.value) {
		t.Fatalf("last sample: %+v", w)
	}
	want := map[string]string{"a": `say "hi"`, "b": `back\slash`, "c": "two\nlines", "d": "}{,="}
	for k, v := range want {
		if w.labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, w.labels[k], v)
		}
	}
}

func TestSnmpField(t *testing.T) {
	const snmp = `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 12345
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails
Tcp: 1 200 120000 -1 8817 120 3
Udp: InDatagrams NoPorts
Udp: 10 0
`
	if v, err := snmpField(snmp, "Tcp", "ActiveOpens"); err != nil || v != 8817 {
		t.Errorf("ActiveOpens = %d, %v; want 8817", v, err)
	}
	if _, err := snmpField(snmp, "Tcp", "Nothing"); err == nil {
		t.Error("an absent counter must be an error")
	}
}

func TestCPUTicks(t *testing.T) {
	const stat = "cpu  100 5 50 1000 20 1 2 3 7 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n"
	busy, all, err := cpuTicks(stat)
	// busy: user nice system irq softirq steal; all adds idle and iowait.
	if err != nil || busy != 161 || all != 1181 {
		t.Errorf("cpuTicks = %d, %d, %v; want 161, 1181", busy, all, err)
	}
	if _, _, err := cpuTicks("intr 1 2 3\n"); err == nil {
		t.Error("a file without the cpu line must be an error")
	}
}

func TestP99AndMisses(t *testing.T) {
	var d durations
	for i := 1; i <= 20; i++ {
		d.add(time.Duration(i) * 100 * time.Millisecond)
	}
	if got := d.quantile(0.99); got != 2*time.Second {
		t.Errorf("p99 of 20 samples = %s, want the slowest (2 s)", got)
	}
	for _, c := range []struct {
		ok, miss int
		want     bool
	}{{20, 0, false}, {19, 1, true}, {0, 0, false}, {199, 1, false}, {198, 2, false}, {197, 3, true}, {0, 3, true}} {
		if got := missedRank(c.ok, c.miss, 0.99); got != c.want {
			t.Errorf("missedRank(%d ok, %d missed) = %t, want %t", c.ok, c.miss, got, c.want)
		}
	}
}

func TestStatTicks(t *testing.T) {
	const stat = "4242 (containerd-shim) S 1 4242 4242 0 -1 4194560 900 0 0 0 120 80 3000 1000 20 0 12 0 500 0 0"
	comm, ticks, ok := statTicks(stat)
	if !ok || comm != "containerd-shim" || ticks != 4200 {
		t.Errorf("statTicks = %q, %d, %t; want containerd-shim, 4200 (utime+stime+cutime+cstime)", comm, ticks, ok)
	}
	if _, _, ok := statTicks("4242 (odd) name) S 1"); ok {
		t.Error("a short line must not parse")
	}
	comm, _, ok = statTicks("7 (a (b) c) S 1 7 7 0 -1 0 0 0 0 0 1 1 1 1 20 0 1 0 5 0 0")
	if !ok || comm != "a (b) c" {
		t.Errorf("a command with parentheses: %q, %t", comm, ok)
	}
}

// With --scale-sim the size-1 clusters are simulated and the size-3 ones
// stay real, so a failover inside the fleet is a real one.
func TestFleetPlanSimulatesSizeOne(t *testing.T) {
	plan := fleetPlan(10, 2, true)
	for _, c := range plan {
		if c.sim != (c.size == 1) {
			t.Errorf("%s: size %d, simulated %v", c.name, c.size, c.sim)
		}
	}
	if got := realMembers(plan); got != 6 {
		t.Errorf("real members: %d, want 6 (two clusters of three)", got)
	}
}

func TestParseActionLine(t *testing.T) {
	ref := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	line := `I1203 07:08:01.512345       1 apply.go:66] "Action applied" cluster="bench-fleet-x/c0001" action="ApplyParameters" member="c0001-1" reason="applying parameters on c0001-1"`
	at, cluster, ok := parseActionLine(line, ref)
	want := time.Date(2026, 12, 3, 7, 8, 1, 512345000, time.UTC)
	if !ok || cluster != "bench-fleet-x/c0001" || !at.Equal(want) {
		t.Fatalf("got %v %q %v; want %v bench-fleet-x/c0001 true", at, cluster, ok, want)
	}
	if _, _, ok := parseActionLine(`I1203 07:08:01.512345       1 apply.go:66] "Action applied" cluster="a/b" action="Promote"`, ref); ok {
		t.Fatal("another action was read as ApplyParameters")
	}
}

// The split shows where a slower failover inside the fleet spent its time:
// here the operator's part is the same and the node's part twice as long,
// nearly all of it with the fleet's Services alone.
func TestFailoverSplitSeparatesOperatorFromNode(t *testing.T) {
	run := func(toEndpoint, toWrite time.Duration) runResult {
		t0 := time.Unix(1000, 0)
		return runResult{mode: scaleMode, fault: faultDelete,
			tl: timeline{t0: t0, endpoint: t0.Add(toEndpoint), firstWrite: t0.Add(toEndpoint + toWrite)}}
	}
	rows := failoverRows{
		alone:   []runResult{run(800*time.Millisecond, 700*time.Millisecond)},
		beside:  []runResult{run(800*time.Millisecond, 1300*time.Millisecond)},
		inFleet: []runResult{run(800*time.Millisecond, 1400*time.Millisecond)},
		pairs:   1000,
	}
	tb := newTable("t", "where", "runs", "p50", "p95", "max", "settled", "goal")
	addSplit(tb, rows, faultDelete)
	out := tb.String()
	for _, want := range []string{"0.80 s alone, 0.80 s beside the Services, 0.80 s inside: 1.00×",
		"0.70 s alone, 1.30 s beside the Services, 1.40 s inside: 2.00×"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in\n%s", want, out)
		}
	}
}

func TestFailoverCompareTableSplitsTheServicesShare(t *testing.T) {
	s := time.Second
	rows := failoverRows{
		alone:   fakeRuns(scaleMode, faultDelete, 1*s, 1*s, 1*s),
		beside:  fakeRuns(scaleMode, faultDelete, 1500*time.Millisecond, 1500*time.Millisecond, 1500*time.Millisecond),
		inFleet: fakeRuns(scaleMode, faultDelete, 1650*time.Millisecond, 1650*time.Millisecond, 1650*time.Millisecond),
		pairs:   1000,
	}
	tb := failoverCompareTable(rows, faultDelete, 1000)
	out := tb.String()
	t.Log(out)
	if tb.checks != 1 || len(tb.misses) != 1 || !strings.Contains(tb.misses[0], "1.65×") {
		t.Errorf("checks %d, misses %q; want the one ratio goal missed at 1.65×", tb.checks, tb.misses)
	}
	for _, want := range []string{"alone, beside 2000 Services", "beside them / alone 1.50×; inside / beside them 1.10×"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q", want)
		}
	}

	rows.beside, rows.pairs = nil, 0
	if out := failoverCompareTable(rows, faultDelete, 1000).String(); strings.Contains(out, "beside") {
		t.Errorf("without the Services' runs the table still shows them:\n%s", out)
	}
}
