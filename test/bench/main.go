// Command bench measures the operator on the real local cluster and prints
// the figures of the lifecycle and failover issues: time to Ready, self-heal,
// scaling, per-pod and operator overhead, API writes in the steady state,
// failover and switchover times with their breakdown, and the safety checks
// (never two primaries, no acknowledged commit lost in sync mode).
//
// Every figure with a goal is printed with it, and marked ✗ MISSED when it
// misses (counted in the summary, not fatal); reference figures of other
// operators are constants and labelled so. After all tables it prints the
// SAFETY VIOLATIONS block and exits 3 if there is any, 1 if a scenario
// could not run, 0 otherwise (summary.go).
//
// It is run by hack/bench.sh (make bench); see --help for the scenarios.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

var scenarios = []string{"floors", "lifecycle", "overhead", "idle", "failover", "switchover", "recovery", "backup", "tls", "metrics", "scale", "partition", "metrics-twins"}

var aliases = map[string][]string{
	// Not backup: it loads 1 GB and runs ~15 min; ask for it by name.
	"all":     {"floors", "lifecycle", "overhead", "idle", "failover", "switchover", "recovery", "tls"},
	"issue4":  {"floors", "lifecycle", "overhead", "idle"},
	"issue5":  {"failover", "switchover", "recovery"},
	"issue9":  {"backup"},
	"issue10": {"tls", "lifecycle", "failover"},
	// Two operators side by side (shard b deployed, then removed), metrics
	// on one and off the other, swapped every round (metrics_twins.go).
	"issue11": {"metrics-twins"},
	// Not in all either: a fleet of 100+ clusters, ~20 min (scale.go).
	"issue12": {"scale"},
	// Not in all either: it needs three nodes (partition.go).
	"issue14": {"partition", "failover"},
}

type options struct {
	kubeconfig, kubectl, ctrAddress, pgBin, image string
	only                                          []string
	runs, lifecycleRuns, switchoverRuns           int
	recoveryRuns, idleClusters                    int
	modes                                         []v1alpha1.ReplicationMode
	faults                                        []string
	metricsPairs                                  int
	steady, quiet, overheadWindow, timeout        time.Duration
	tlsWindow                                     time.Duration
	keep, trace                                   bool
	slow, slowWrite                               time.Duration
	backup                                        backupOptions
	scale                                         scaleOptions
}

func parseFlags() (*options, error) {
	root := mustEnv("BENCH_ROOT", ".")
	local := filepath.Join(root, ".local-cluster")
	o := &options{}
	only := flag.String("only", "all", "comma-separated scenarios: "+strings.Join(scenarios, ",")+"; or all (every one but backup, metrics, scale and partition), issue4, issue5, issue9, issue10, issue11, issue12, issue14")
	modes := flag.String("modes", "sync,async", "replication modes of the fault scenarios")
	faults := flag.String("faults", "sigkill,delete,force", "faults of the failover scenario: sigkill, delete, force")
	flag.StringVar(&o.kubeconfig, "kubeconfig", filepath.Join(local, "etc/admin.kubeconfig"), "admin kubeconfig of the local cluster")
	flag.StringVar(&o.kubectl, "kubectl", filepath.Join(local, "bin/kubectl"), "kubectl binary (diagnostics)")
	flag.StringVar(&o.ctrAddress, "ctr-address", filepath.Join(local, "run/containerd/containerd.sock"), "the node's containerd socket")
	flag.StringVar(&o.pgBin, "pg-bin", "/usr/lib/postgresql/15/bin", "PostgreSQL binaries for the host floors")
	flag.StringVar(&o.image, "image", "localhost/postgres:15", "PostgreSQL image of the bare-pod floor")
	flag.IntVar(&o.runs, "runs", 20, "runs per fault and replication mode of the failover scenario")
	flag.DurationVar(&o.tlsWindow, "tls-window", 10*time.Second, "tls scenario: each pgbench run's length")
	flag.IntVar(&o.lifecycleRuns, "lifecycle-runs", 4, "runs of each lifecycle figure and of the floors")
	flag.IntVar(&o.switchoverRuns, "switchover-runs", 5, "switchover runs per replication mode")
	flag.IntVar(&o.recoveryRuns, "recovery-runs", 3, "all-pods-deleted runs per replication mode")
	flag.IntVar(&o.idleClusters, "idle-clusters", 10, "idle clusters of size 1 for the operator's cost")
	flag.IntVar(&o.metricsPairs, "metrics-pairs", 3, "metrics scenario: pairs of windows, metrics off then on")
	flag.DurationVar(&o.steady, "steady", time.Minute, "steady-state window of the idle scenario")
	flag.DurationVar(&o.quiet, "quiet", 10*time.Second, "wait after the idle clusters are Ready before the window")
	flag.DurationVar(&o.overheadWindow, "overhead-window", 20*time.Second, "sampling window of the per-pod overhead")
	flag.DurationVar(&o.timeout, "timeout", 120*time.Second, "a step that takes longer fails its run")
	flag.BoolVar(&o.keep, "keep", false, "keep the benchmark's namespaces")
	flag.BoolVar(&o.trace, "trace", false, "print every fault run's timeline (always printed for failed runs)")
	flag.DurationVar(&o.slow, "slow", 30*time.Second, "print the timeline of fault runs that take longer to settle")
	flag.DurationVar(&o.slowWrite, "slow-write", 5*time.Second, "print the timeline of fault runs whose first write takes longer")
	backupFlags(&o.backup, root)
	scaleFlags(&o.scale)
	flag.Parse()
	for _, s := range strings.Split(*only, ",") {
		s = strings.TrimSpace(s)
		switch {
		case aliases[s] != nil:
			o.only = append(o.only, aliases[s]...)
		case slices.Contains(scenarios, s):
			o.only = append(o.only, s)
		default:
			return nil, fmt.Errorf("unknown scenario %q", s)
		}
	}
	for _, m := range strings.Split(*modes, ",") {
		if m != string(v1alpha1.ReplicationSync) && m != string(v1alpha1.ReplicationAsync) {
			return nil, fmt.Errorf("unknown replication mode %q", m)
		}
		o.modes = append(o.modes, v1alpha1.ReplicationMode(m))
	}
	for _, f := range strings.Split(*faults, ",") {
		if f != faultKill && f != faultDelete && f != faultForce {
			return nil, fmt.Errorf("unknown fault %q", f)
		}
		o.faults = append(o.faults, f)
	}
	if o.selected("scale") {
		if err := o.scale.validate(); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (o *options) selected(s string) bool { return slices.Contains(o.only, s) }

func main() {
	if host := os.Getenv(nodeWriterEnv); host != "" {
		runNodeWriter(host) // partition_writer.go: the bench run inside a node
		return
	}
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitBadFlags)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e, err := newEnv(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitScenarioFailed)
	}
	start := time.Now()
	out := run(ctx, e)
	e.cleanup(context.Background())
	fmt.Printf("\n==================== SUMMARY (%s, %s) ====================\n", time.Now().Format(time.RFC3339), time.Since(start).Round(time.Second))
	for _, t := range out.tables {
		fmt.Print(t)
	}
	fmt.Print(out.summary())
	os.Exit(out.exitCode())
}

// run runs the selected scenarios in order, printing each table when it is
// ready; a scenario that fails does not stop the others.
func run(ctx context.Context, e *env) outcome {
	var out outcome
	emit := func(t *table) {
		fmt.Print(t)
		out.tables = append(out.tables, t)
	}
	fail := func(what string, err error) {
		logf("%s failed: %v", what, err)
		out.errs = append(out.errs, fmt.Errorf("%s: %w", what, err))
	}
	o := e.opts
	var fl *floors
	if o.selected("floors") {
		var err error
		if fl, err = e.runFloors(ctx); err != nil {
			fail("floors", err)
		} else {
			emit(floorsTable(fl, o.pgBin, o.image))
		}
	}
	if o.selected("lifecycle") || o.selected("overhead") {
		runLifecycleAndOverhead(ctx, e, fl, emit, fail)
	}
	if o.selected("idle") {
		if r, err := e.runIdle(ctx); err != nil {
			fail("idle", err)
		} else {
			emit(r.table())
		}
	}
	if o.selected("failover") || o.selected("switchover") || o.selected("recovery") {
		rs := runFaults(ctx, e, emit, fail)
		out.faultRuns, out.violations, out.failed = len(rs), safetyViolations(rs), failedRuns(rs)
	}
	if o.selected("backup") {
		runBackup(ctx, e, emit, fail)
	}
	if o.selected("metrics") {
		if r, err := e.runMetricsCost(ctx); err != nil {
			fail("metrics", err)
		} else {
			emit(metricsCostTable(r))
		}
	}
	if o.selected("metrics-twins") {
		if r, err := e.runMetricsTwins(ctx); err != nil {
			fail("metrics-twins", err)
		} else {
			emit(metricsTwinsTable(r))
		}
	}
	if o.selected("tls") {
		if rows, err := e.runTLSCost(ctx); err != nil {
			fail("tls", err)
		} else {
			emit(tlsCostTable(rows))
		}
	}
	if o.selected("partition") {
		rs, err := e.runPartition(ctx)
		if err != nil {
			fail("partition", err)
		}
		if len(rs) > 0 {
			emit(partitionTable(rs))
		}
		out.faultRuns += len(rs)
		out.violations = append(out.violations, partitionViolations(rs)...)
		out.failed = append(out.failed, partitionFailures(rs)...)
	}
	if o.selected("scale") {
		rs := runScale(ctx, e, emit, fail)
		out.faultRuns += len(rs)
		out.violations = append(out.violations, safetyViolations(rs)...)
		out.failed = append(out.failed, failedRuns(rs)...)
	}
	return out
}

func runLifecycleAndOverhead(ctx context.Context, e *env, fl *floors, emit func(*table), fail func(string, error)) {
	o := e.opts
	var ns, cluster string
	if o.selected("lifecycle") {
		lc, err := e.runLifecycle(ctx)
		if err != nil {
			fail("lifecycle", err)
		}
		if lc != nil {
			emit(lifecycleTable(lc, fl))
			ns, cluster = lc.ns, lc.kept
		}
	}
	if !o.selected("overhead") {
		return
	}
	if cluster == "" {
		var err error
		if ns, err = e.namespace(ctx, "overhead"); err != nil {
			fail("overhead", err)
			return
		}
		cluster = "overhead"
		if _, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Create(ctx, newCluster(ns, cluster, 3, v1alpha1.ReplicationAsync), metav1.CreateOptions{}); err != nil {
			fail("overhead", err)
			return
		}
	}
	if pw, err := e.password(ctx, ns, cluster); err == nil {
		_, err = e.settle(ctx, ns, cluster, pw, o.timeout)
		if err != nil {
			fail("overhead", err)
			return
		}
	}
	rows, err := e.measurePodOverhead(ctx, ns, cluster, o.overheadWindow)
	if err != nil {
		fail("overhead", err)
		return
	}
	emit(overheadTable(rows))
}

// runFaults runs the fault scenarios and returns their runs, whose safety
// decides the bench's exit code.
func runFaults(ctx context.Context, e *env, emit func(*table), fail func(string, error)) []runResult {
	o := e.opts
	b, err := e.newFailoverBench(ctx)
	if err != nil {
		fail("failover set-up", err)
		return nil
	}
	if o.selected("failover") {
		if err := b.runAll(ctx, o.faults, o.runs); err != nil {
			fail("failover", err)
		}
		emit(faultTable("Failover (issue 5): fault → first write through -rw", b.results, o.modes, o.faults))
		emit(breakdownTable(b.results, o.modes, o.faults))
	}
	if o.selected("switchover") {
		if err := b.runAll(ctx, []string{faultSwitchover}, o.switchoverRuns); err != nil {
			fail("switchover", err)
		}
		emit(faultTable("Switchover: annotation → first write on the new primary", b.results, o.modes, []string{faultSwitchover}))
		emit(breakdownTable(b.results, o.modes, []string{faultSwitchover}))
	}
	if o.selected("recovery") {
		if err := b.runAll(ctx, []string{faultAllPods}, o.recoveryRuns); err != nil {
			fail("recovery", err)
		}
		emit(faultTable("Every pod deleted at once: → first write, → all members ready (settled)", b.results, o.modes, []string{faultAllPods}))
	}
	emit(safetyTable(b.results))
	return b.results
}
