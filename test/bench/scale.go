package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// The scale scenario (issue 12, "Prove the scale"): a fleet of real
// PostgresClusters on the local cluster and what the operator costs and
// how fast it answers while it serves them. In order, so that each step
// has the machine it needs:
//
//  1. failover of a size-3 cluster alone (nothing else of the scenario runs),
//     then beside as many Services as the fleet will have;
//  2. --scale-burst size-1 clusters created at once, then deleted at once;
//  3. the fleet, created in batches;
//  4. its steady window: the operator's RSS, CPU, API requests, goroutines,
//     SQL connections;
//  5. spec change → first action, the fleet idle, then 10% of it changing;
//  6. failover of one of the fleet's size-3 clusters, as in step 1;
//  7. an operator restart: the leader's pod deleted;
//
// then the fleet is deleted. Steps 1 and 2 run before the fleet exists:
// the node's pod addresses (a /24, 253) would not hold the fleet and the
// burst together, and a failover "alone" must be alone.

type scaleOptions struct {
	clusters, size3, batch int
	window                 time.Duration
	burst, changeSamples   int
	failoverRuns           int
	fault                  string
	// besideServices runs the failover alone again beside the fleet's
	// Services (scale_services.go).
	besideServices bool
	// sim puts the size-1 clusters (the fleet's and the burst's) on the
	// simulated nodes of hack/sim.sh; the size-3 ones stay real.
	sim bool
}

func scaleFlags(o *scaleOptions) {
	flag.IntVar(&o.clusters, "scale-clusters", 100, "scale scenario: PostgresClusters in the fleet")
	flag.IntVar(&o.size3, "scale-size3", 20, "scale scenario: how many of the fleet's clusters have 3 members (the rest 1)")
	flag.IntVar(&o.batch, "scale-batch", 20, "scale scenario: clusters created per batch")
	flag.DurationVar(&o.window, "scale-window", 2*time.Minute, "scale scenario: steady-state window")
	flag.IntVar(&o.burst, "scale-burst", 100, "scale scenario: size-1 clusters created and deleted at once (0: skip)")
	flag.IntVar(&o.changeSamples, "scale-change-samples", 20, "scale scenario: spec changes measured per case (idle, 10% changing)")
	flag.IntVar(&o.failoverRuns, "scale-failover-runs", 5, "scale scenario: failover runs alone, beside the fleet's Services and inside the fleet (0: skip)")
	flag.StringVar(&o.fault, "scale-fault", faultDelete, "scale scenario: the failover's fault: sigkill, delete or force")
	flag.BoolVar(&o.besideServices, "scale-beside-services", true, "scale scenario: run the failover alone again beside as many Services as the fleet has (2 a cluster), without the fleet")
	flag.BoolVar(&o.sim, "scale-sim", false, "scale scenario: size-1 clusters on hack/sim.sh's simulated nodes (kwok pods, pgsim PostgreSQL); size-3 ones stay real")
}

func (o scaleOptions) validate() error {
	switch {
	case o.clusters < 1 || o.batch < 1:
		return fmt.Errorf("--scale-clusters and --scale-batch must be at least 1")
	case o.size3 < 0 || o.size3 > o.clusters:
		return fmt.Errorf("--scale-size3 must be between 0 and --scale-clusters")
	case o.fault != faultKill && o.fault != faultDelete && o.fault != faultForce:
		return fmt.Errorf("unknown --scale-fault %q", o.fault)
	}
	return nil
}

// fleetCluster is one cluster of the fleet.
type fleetCluster struct {
	name string
	size int32
	sim  bool // on the simulated nodes
}

// fleetPlan names the fleet's clusters and spreads the size-3 ones evenly
// over the list, so that every batch gets its share of them.
func fleetPlan(n, size3 int, sim bool) []fleetCluster {
	out := make([]fleetCluster, n)
	for i := range out {
		size := int32(1)
		if size3 > 0 && (i+1)*size3/n > i*size3/n {
			size = 3
		}
		out[i] = fleetCluster{name: fmt.Sprintf("c%04d", i+1), size: size, sim: sim && size == 1}
	}
	return out
}

// realMembers counts the pods of a list of clusters that need a real node.
func realMembers(cs []fleetCluster) int {
	n := 0
	for _, c := range cs {
		if !c.sim {
			n += int(c.size)
		}
	}
	return n
}

// simLabel marks hack/sim.sh's nodes; their taint has the same key.
const simLabel = "postgres-operator.dev/sim"

// simulated puts c's members on the simulated nodes: they tolerate their
// taint and select them.
func simulated(c *v1alpha1.PostgresCluster) *v1alpha1.PostgresCluster {
	c.Spec.Pod.NodeSelector = map[string]string{simLabel: "true"}
	c.Spec.Pod.Tolerations = []corev1.Toleration{{Key: simLabel, Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	return c
}

// members counts the pods of a list of clusters.
func members(cs []fleetCluster) int {
	n := 0
	for _, c := range cs {
		n += int(c.size)
	}
	return n
}

// batches cuts the list into consecutive batches of at most n.
func batches(cs []fleetCluster, n int) [][]fleetCluster {
	var out [][]fleetCluster
	for len(cs) > 0 {
		k := min(n, len(cs))
		out = append(out, cs[:k])
		cs = cs[k:]
	}
	return out
}

// smallCluster is the bench's cluster with the least PostgreSQL 15 needs
// to run idle: shared_buffers 16MB instead of 128MB (measured on the host:
// 21 MiB PSS for the whole server idle, against 30 MiB with the defaults;
// lowering autovacuum workers, worker processes or WAL senders saves
// nothing more that shows), max_connections 20 (the operator opens one
// connection per call, the kubelet's probe one every 2 s, WAL senders have
// their own slots). Requests are tiny so that the scheduler's sum over
// 250 pods stays below the node's 2 CPUs; there are no limits.
func smallCluster(ns, name string, size int32) *v1alpha1.PostgresCluster {
	c := newCluster(ns, name, size, v1alpha1.ReplicationAsync)
	c.Spec.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("5m"),
		corev1.ResourceMemory: resource.MustParse("32Mi"),
	}}
	c.Spec.Parameters = map[string]string{"shared_buffers": "16MB", "max_connections": "20"}
	return c
}

// runScale runs the scenario's steps in order, emitting each table when it
// is ready, and returns the failover runs, whose safety counts in the
// bench's exit code. A step that fails is reported; the fleet's steps
// need the fleet, so they stop when it could not be created.
func runScale(ctx context.Context, e *env, emit func(*table), fail func(string, error)) []runResult {
	o := e.opts.scale
	plan := fleetPlan(o.clusters, o.size3, o.sim)
	// The peak is the fleet or the burst, never both; +2 for a pod being
	// replaced (a failover's member, the operator's restart).
	burstReal, burstSim := o.burst, 0
	if o.sim {
		burstReal, burstSim = 0, o.burst
	}
	simMembers := members(plan) - realMembers(plan)
	if err := e.podRoom(ctx, max(realMembers(plan), burstReal, 3)+2, max(simMembers, burstSim)); err != nil {
		fail("scale", err)
		return nil
	}
	var runs []runResult
	var fo failoverRows
	if o.failoverRuns > 0 {
		if o.besideServices {
			fo.pairs = len(plan)
		}
		var err error
		if fo.alone, fo.beside, err = e.failoverAlone(ctx, fo.pairs); err != nil {
			fail("scale: failover alone", err)
		}
		runs = append(append(runs, fo.alone...), fo.beside...)
	}
	if o.burst > 0 {
		if b, err := e.runBurst(ctx, o.burst); err != nil {
			fail("scale: create and delete at once", err)
		} else {
			emit(b.table())
		}
	}
	ns, err := e.namespace(ctx, "fleet")
	if err != nil {
		fail("scale", err)
		return runs
	}
	defer e.deleteFleet(ns)
	fc, err := e.createFleet(ctx, ns, plan)
	if fc != nil {
		emit(fc.table())
	}
	if err != nil {
		fail("scale: creating the fleet", err)
		return runs
	}
	return append(runs, e.fleetSteps(ctx, ns, plan, fo, emit, fail)...)
}

// fleetSteps measures the fleet once it is Ready: steady window, spec
// changes, failover inside it, operator restart.
func (e *env) fleetSteps(ctx context.Context, ns string, plan []fleetCluster, fo failoverRows, emit func(*table), fail func(string, error)) []runResult {
	o := e.opts.scale
	// One set of FlowSchemas for the steady window and the restart, made
	// long before either: the API server applies a new one within moments,
	// not at once.
	apf, err := e.newAPFSet(ctx, ns)
	if err != nil {
		fail("scale", err)
		return nil
	}
	defer apf.delete(e)
	if s, err := e.runSteady(ctx, ns, plan, apf); err != nil {
		fail("scale: steady window", err)
	} else {
		emit(s.table())
	}
	if c, err := e.runSpecChanges(ctx, ns, plan); err != nil {
		fail("scale: spec change → first action", err)
	} else {
		emit(c.table())
	}
	if o.failoverRuns > 0 {
		var err error
		if fo.inFleet, err = e.failoverInFleet(ctx, ns, plan); err != nil {
			fail("scale: failover inside the fleet", err)
		}
		emit(failoverCompareTable(fo, o.fault, len(plan)))
	}
	// The restart's goal is for healthy clusters: the failover's cluster
	// reports Ready again before the leader goes (otherwise its new leader
	// rightly writes the status the old one had not yet written).
	if _, err := e.waitAllReady(ctx, ns, plan, 2*time.Minute); err != nil {
		fail("scale: the fleet Ready before the restart", err)
	}
	// A restart that never completes still prints what it saw: the miss.
	r, err := e.runRestart(ctx, ns, len(plan), apf)
	if r != nil {
		emit(r.table())
	}
	if err != nil {
		fail("scale: operator restart", err)
	}
	return fo.inFleet
}
