//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"time"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// injected is what a fault did.
type injected struct {
	// gone are the UIDs of the pods the fault hit: recovery means they
	// have been replaced.
	gone map[string]bool
	note string
	// after, if set, runs once the cluster has converged: the fault's own
	// check (the operator's Lease moved, the API server restarted cleanly).
	after func() error
}

// chaosFault is one way to break a cluster. inject returns once the fault
// has taken effect; expect says what must become of the primary.
type chaosFault struct {
	name   string
	expect primaryOutcome
	inject func(e *chaosEnv) (injected, error)
}

// primaryOutcome is what a fault must do to the primary.
type primaryOutcome int

const (
	// expectFailover: the primary was hit, so another member must be
	// promoted on a new timeline.
	expectFailover primaryOutcome = iota
	// expectSamePrimary: the primary was not hit; failing over would be
	// a needless loss of availability.
	expectSamePrimary
	// expectEither: every member was hit; the last primary restarting on
	// its volume and a replica taking over are both right.
	expectEither
)

// Names of the faults, in the order the sync suite runs them.
const (
	faultDeletePrimary      = "delete-primary"
	faultForceDeletePrimary = "force-delete-primary"
	faultKillContainer      = "kill-primary-container"
	faultKillPostmaster     = "kill-postmaster"
	faultDeleteReplica      = "delete-replica"
	faultDeleteAll          = "delete-all-pods"
	faultKillOperator       = "kill-operator-mid-failover"
	faultRestartAPIServer   = "restart-apiserver"
	faultSwitchover         = "switchover"
	faultPausePrimary       = "pause-primary"
)

var chaosFaults = []chaosFault{
	{faultDeletePrimary, expectFailover, func(e *chaosEnv) (injected, error) {
		return e.hitPrimary(func(p framework.MemberView) (string, error) { return e.f.DeletePod(e.ns, p.Name, nil) })
	}},
	{faultForceDeletePrimary, expectFailover, func(e *chaosEnv) (injected, error) {
		return e.hitPrimary(func(p framework.MemberView) (string, error) { return e.f.ForceDeletePod(e.ns, p.Name) })
	}},
	{faultKillContainer, expectFailover, func(e *chaosEnv) (injected, error) {
		return e.hitPrimary(func(p framework.MemberView) (string, error) {
			cid, err := e.containerID(p.Name)
			if err != nil {
				return "", err
			}
			return p.UID, e.f.KillContainer(cid)
		})
	}},
	{faultKillPostmaster, expectFailover, func(e *chaosEnv) (injected, error) {
		return e.hitPrimary(func(p framework.MemberView) (string, error) {
			cid, err := e.containerID(p.Name)
			if err != nil {
				return "", err
			}
			_, err = e.f.KillPostmaster(cid)
			return p.UID, err
		})
	}},
	{faultDeleteReplica, expectSamePrimary, injectDeleteReplica},
	{faultDeleteAll, expectEither, func(e *chaosEnv) (injected, error) {
		uids, err := e.f.DeleteClusterPods(e.ns, chaosCluster)
		return injected{gone: set(uids...), note: fmt.Sprintf("%d pods", len(uids))}, err
	}},
	{faultKillOperator, expectFailover, injectKillOperator},
	{faultRestartAPIServer, expectSamePrimary, injectRestartAPIServer},
	{faultSwitchover, expectFailover, injectSwitchover},
}

// optInFaults run only when CHAOS_ONLY names them. pause-primary is one:
// the operator waits for the kubelet to kill a frozen primary
// (pkg/cluster/fence_kubelet.go), which once took minutes, past the
// suite's convergence limit (see chaos_pause_test.go).
var optInFaults = []chaosFault{
	{faultPausePrimary, expectFailover, injectPausePrimary}, // chaos_pause_test.go
}

func faultByName(name string) chaosFault {
	all := append(slices.Clone(chaosFaults), optInFaults...)
	i := slices.IndexFunc(all, func(f chaosFault) bool { return f.name == name })
	if i < 0 {
		panic("no chaos fault " + name)
	}
	return all[i]
}

// hitPrimary applies hit to the current primary.
func (e *chaosEnv) hitPrimary(hit func(framework.MemberView) (string, error)) (injected, error) {
	p, ok := e.topo.Sample().OnePrimary()
	if !ok {
		return injected{}, fmt.Errorf("no single primary to hit")
	}
	uid, err := hit(p)
	return injected{gone: set(uid), note: p.Name}, err
}

func injectDeleteReplica(e *chaosEnv) (injected, error) {
	var replicas []framework.MemberView
	for _, m := range e.topo.Sample().Members {
		if !m.Labelled {
			replicas = append(replicas, m)
		}
	}
	if len(replicas) == 0 {
		return injected{}, fmt.Errorf("no replica to delete")
	}
	r := replicas[e.rng.IntN(len(replicas))]
	uid, err := e.f.DeletePod(e.ns, r.Name, nil)
	return injected{gone: set(uid), note: r.Name}, err
}

// injectKillOperator deletes the primary's pod and crashes the operator
// right after, while it fails over; the Deployment's next pod has to take
// the Lease over and finish the failover.
func injectKillOperator(e *chaosEnv) (injected, error) {
	in, err := e.hitPrimary(func(p framework.MemberView) (string, error) { return e.f.DeletePod(e.ns, p.Name, nil) })
	if err != nil {
		return in, err
	}
	killed, err := e.f.KillOperator()
	in.note += fmt.Sprintf(", operator %v", killed)
	in.after = func() error {
		holder, err := e.f.LeaseHolder()
		if err == nil && slices.Contains(killed, holder) {
			err = fmt.Errorf("the killed operator pod %s still holds the Lease", holder)
		}
		return err
	}
	return in, err
}

// injectSwitchover asks for a switchover to a random replica, as a user
// would with kubectl annotate: a planned change of primary must keep every
// promise a failover keeps, and lose no commit in either mode.
func injectSwitchover(e *chaosEnv) (injected, error) {
	s := e.topo.Sample()
	p, ok := s.OnePrimary()
	if !ok {
		return injected{}, fmt.Errorf("no single primary to switch over from")
	}
	var replicas []string
	for _, m := range s.Members {
		if !m.Labelled {
			replicas = append(replicas, m.Name)
		}
	}
	if len(replicas) == 0 {
		return injected{}, fmt.Errorf("no replica to switch over to")
	}
	target := replicas[e.rng.IntN(len(replicas))]
	// The operator acts once per distinct request value: never repeat the last.
	if last := e.f.Cluster(e.t, e.ns, chaosCluster).Status.LastSwitchover; target == last {
		target = "any"
		if last == "any" {
			target = replicas[0]
		}
	}
	r := e.f.Run("", "-n", e.ns, "annotate", "--overwrite", "pgc", chaosCluster, "postgres-operator.dev/switchover="+target)
	if r.Err != nil {
		return injected{}, fmt.Errorf("kubectl annotate: %w: %s", r.Err, r.Stderr)
	}
	return injected{gone: set(p.UID), note: p.Name + " → " + target}, nil
}

// injectRestartAPIServer stops the API server and starts it again in the
// background, so the measurements run while it is away: the primary must
// keep taking writes without the API. Should the cluster not converge, the
// test's cleanup still reports how the restart went.
func injectRestartAPIServer(e *chaosEnv) (injected, error) {
	var down time.Duration
	var err error
	stopped, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		down, err = e.f.RestartAPIServer(func() { close(stopped) })
	}()
	select {
	case <-stopped:
	case <-done:
		return injected{}, err
	}
	reported := false
	report := func() error {
		<-done
		reported = true
		if err != nil {
			return fmt.Errorf("restarting the API server: %w", err)
		}
		// The next fault must find Service routing and scheduling live
		// again (see WaitServiceRouting, WaitScheduling); how long that
		// took is the infrastructure's recovery, reported but not held
		// against the operator.
		took, err := e.topo.WaitServiceRouting(3 * time.Minute)
		e.t.Logf("the API server was away for %s; Service routing followed a label change again %s after it was back",
			down.Round(100*time.Millisecond), took.Round(100*time.Millisecond))
		if err != nil {
			return err
		}
		// Likewise the scheduler must place new pods again: the next
		// fault's replacement member would otherwise stay Pending.
		took, err = e.topo.WaitScheduling(5 * time.Minute)
		e.t.Logf("a new pod was scheduled and running %s later", took.Round(100*time.Millisecond))
		return err
	}
	e.t.Cleanup(func() {
		if !reported {
			e.t.Logf("API server restart (the test ended before checking it): %v", report())
		}
	})
	return injected{note: "API server", after: report}, nil
}

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func (e *chaosEnv) containerID(pod string) (string, error) {
	return framework.ContainerID(e.f.Pod(e.t, e.ns, pod), "postgres")
}
