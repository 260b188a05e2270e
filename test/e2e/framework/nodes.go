//go:build e2e

package framework

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Helpers for the multi-node suite (test/e2enodes): the local cluster's
// node faults, the operator's placement, and where member pods run.

// NodeAction runs `hack/local-cluster.sh node ACTION NODE` (cut, heal,
// stop, start) and returns when the script did, with the time it returned:
// the fault is in effect from then on.
func (f *Framework) NodeAction(action, node string) (time.Time, error) {
	cmd := exec.Command(filepath.Join(f.Root, "hack/local-cluster.sh"), "node", action, node)
	cmd.Dir = f.Root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return time.Now(), fmt.Errorf("hack/local-cluster.sh node %s %s: %w: %s", action, node, err, out)
	}
	return time.Now(), nil
}

// NodeNetns is the network namespace of an extra node of the local cluster
// (local-node-N runs in lc-nodeN); the first node has none.
func NodeNetns(node string) (string, error) {
	n, ok := strings.CutPrefix(node, "local-node-")
	if !ok || n == "" {
		return "", fmt.Errorf("%q is not an extra node of the local cluster (local-node-N)", node)
	}
	return "lc-node" + n, nil
}

// NodeOf is the node a pod was scheduled to ("" if none yet).
func (f *Framework) NodeOf(t testing.TB, ns, pod string) string {
	t.Helper()
	return f.Pod(t, ns, pod).Spec.NodeName
}

// PinOperator sets the operator Deployment's nodeSelector to the node
// (node "" removes it), waits for the rollout and for a pod on that node
// to lead. The multi-node tests keep the operator away from the nodes they
// cut, stop and drain.
func (f *Framework) PinOperator(node string) error {
	var sel any // JSON null removes the field
	if node != "" {
		sel = map[string]string{corev1.LabelHostname: node}
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": sel}}}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.Kube.AppsV1().Deployments(OperatorNamespace).Patch(ctx, "postgres-operator", types.StrategicMergePatchType, patch,
		metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("pinning the operator to %q: %w", node, err)
	}
	if r := f.Run("", "-n", OperatorNamespace, "rollout", "status", "deployment/postgres-operator", "--timeout=180s"); r.Err != nil {
		return fmt.Errorf("rollout: %v: %s", r.Err, r.Stderr)
	}
	_, err = f.WaitOperatorLeads(node, 2*time.Minute)
	return err
}

// OperatorNodes lists the nodes of the operator's running pods.
func (f *Framework) OperatorNodes() (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := f.Kube.CoreV1().Pods(OperatorNamespace).List(ctx, metav1.ListOptions{LabelSelector: operatorSelector})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = p.Spec.NodeName
		}
	}
	return out, nil
}

// WaitOperatorLeads waits until a running operator pod (on node, unless
// node is "") holds the Lease, and returns its name.
func (f *Framework) WaitOperatorLeads(node string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		holder, err := f.LeaseHolder()
		if err == nil {
			nodes, err2 := f.OperatorNodes()
			switch {
			case err2 != nil:
				err = err2
			case nodes[holder] == "":
				err = fmt.Errorf("the Lease holder %s is not a running operator pod", holder)
			case node != "" && nodes[holder] != node:
				err = fmt.Errorf("the Lease holder %s runs on %s, not %s", holder, nodes[holder], node)
			default:
				return holder, nil
			}
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	return "", fmt.Errorf("no operator pod leads after %s: %v", timeout, lastErr)
}

// ScaleOperator sets the operator Deployment's replicas and, for 0, waits
// until no operator process runs: every operator pod is gone, or is being
// deleted with no container running. The kubelet never starts a container
// of a pod being deleted, and such a pod can stay for minutes on a slow
// node while its sandbox is torn down (seen in CI: a replacement pod still
// ContainerCreating 2 min after the scale to 0).
func (f *Framework) ScaleOperator(replicas int32) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	if _, err := f.Kube.AppsV1().Deployments(OperatorNamespace).Patch(ctx, "postgres-operator", types.MergePatchType, []byte(patch),
		metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("scaling the operator to %d: %w", replicas, err)
	}
	if replicas > 0 {
		return nil
	}
	deadline := time.Now().Add(2 * time.Minute)
	var left []string
	for time.Now().Before(deadline) {
		list, err := f.Kube.CoreV1().Pods(OperatorNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: operatorSelector})
		if err == nil && !slices.ContainsFunc(list.Items, operatorMayRun) {
			return nil
		}
		if err == nil {
			left = describeOperatorPods(list.Items)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("operator pods still there 2m after scaling to 0: %s", strings.Join(left, "; "))
}

// describeOperatorPods says, for each pod that may still run, where it is,
// whether it is being deleted, and what its containers report.
func describeOperatorPods(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		if !operatorMayRun(p) {
			continue
		}
		var states []string
		for _, cs := range p.Status.ContainerStatuses {
			state := "waiting"
			switch {
			case cs.State.Running != nil:
				state = "running since " + cs.State.Running.StartedAt.Format("15:04:05")
			case cs.State.Terminated != nil:
				state = "terminated"
			}
			states = append(states, cs.Name+" "+state)
		}
		deleting := "not deleted"
		if p.DeletionTimestamp != nil {
			deleting = "deleted at " + p.DeletionTimestamp.Format("15:04:05")
		}
		out = append(out, fmt.Sprintf("%s on %s (%s; %s)", p.Name, p.Spec.NodeName, deleting, strings.Join(states, ", ")))
	}
	return out
}

// operatorMayRun: p is not being deleted, or a container of it runs.
func operatorMayRun(p corev1.Pod) bool {
	return p.DeletionTimestamp == nil || slices.ContainsFunc(p.Status.ContainerStatuses,
		func(cs corev1.ContainerStatus) bool { return cs.State.Running != nil })
}

// NetnsPSQL runs psql inside a node's network namespace against host:5432
// as the superuser over TLS, bounded by timeout.
func NetnsPSQL(netns, host, password, sql string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn := fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres sslmode=require connect_timeout=2 application_name=nodes-e2e-netns", host)
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", netns, "psql", conn, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql)
	cmd.Env = pgEnv(password)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Errorf("psql in %s: no answer within %s: %s", netns, timeout, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		return "", fmt.Errorf("psql in %s: %w: %s", netns, err, strings.TrimSpace(stderr.String()))
	}
	if w := stderr.String(); strings.Contains(w, "WARNING") {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("psql in %s: %w: %s", netns, errWarned, strings.TrimSpace(w))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Outcomes of a connection attempt to a stopped server, as psql words them.
const (
	// The postmaster is in its shutdown: it accepts no new connection and
	// has ended (fast shutdown) or is ending every session; it never goes
	// back to serving.
	OutcomeShuttingDown = "the database system is shutting down"
	// Nothing listens: the container is dead while its pod's network lives on.
	OutcomeRefused = "Connection refused"
	// From inside the node, where the pod's address is on its bridge: the
	// kubelet has torn down the sandbox of the pod, which a container that
	// ended under restartPolicy Never leaves Failed.
	OutcomeNoRoute = "No route to host"
)

// ProbeOutcome is one change in what a connection attempt got.
type ProbeOutcome struct {
	At      time.Time // the attempt began
	Outcome string    // "answers" or psql's error
}

// NetnsProbe connects to host:5432 from inside a node's network namespace
// again and again (psql, select 1) and records every change of outcome.
type NetnsProbe struct {
	mu      sync.Mutex
	history []ProbeOutcome
	stop    chan struct{}
	done    chan struct{}
}

// StartNetnsProbe starts probing.
func StartNetnsProbe(netns, host, password string) *NetnsProbe {
	p := &NetnsProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		last := ""
		for {
			start := time.Now()
			_, err := NetnsPSQL(netns, host, password, "select 1", 3*time.Second)
			outcome := "answers"
			if err != nil {
				outcome = err.Error()
			}
			if outcome != last {
				p.mu.Lock()
				p.history = append(p.history, ProbeOutcome{At: start, Outcome: outcome})
				p.mu.Unlock()
				last = outcome
			}
			select {
			case <-p.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return p
}

// Stop ends the probing.
func (p *NetnsProbe) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// History returns the changes of outcome so far.
func (p *NetnsProbe) History() []ProbeOutcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ProbeOutcome(nil), p.history...)
}

// First returns the first outcome containing one of the words, if any.
func (p *NetnsProbe) First(words ...string) (ProbeOutcome, bool) {
	for _, o := range p.History() {
		for _, w := range words {
			if strings.Contains(o.Outcome, w) {
				return o, true
			}
		}
	}
	return ProbeOutcome{}, false
}

// WaitFirst waits until an outcome contains one of the words.
func (p *NetnsProbe) WaitFirst(timeout time.Duration, words ...string) (ProbeOutcome, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if o, ok := p.First(words...); ok {
			return o, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ProbeOutcome{}, fmt.Errorf("none of %q within %s; outcomes: %s", words, timeout, p.Format())
}

// Kind is the Outcome* constant an outcome contains, or the outcome.
func (o ProbeOutcome) Kind() string {
	for _, k := range []string{OutcomeShuttingDown, OutcomeRefused, OutcomeNoRoute} {
		if strings.Contains(o.Outcome, k) {
			return k
		}
	}
	return o.Outcome
}

// Format lists the outcomes, one per line.
func (p *NetnsProbe) Format() string {
	var b strings.Builder
	for _, o := range p.History() {
		fmt.Fprintf(&b, "\n  %s %s", o.At.Format("15:04:05.000"), strings.ReplaceAll(strings.TrimSpace(o.Outcome), "\n", " "))
	}
	return b.String()
}

// WaitLogLine waits until a pod's postgres container log has a line
// containing want.
func (f *Framework) WaitLogLine(ns, pod, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := "no log read"
	for time.Now().Before(deadline) {
		r := f.Run("", "-n", ns, "logs", pod, "-c", "postgres")
		if r.Err != nil {
			last = r.Err.Error()
		} else {
			last = headLines(r.Stdout, 12)
			sc := bufio.NewScanner(strings.NewReader(r.Stdout))
			for sc.Scan() {
				if strings.Contains(sc.Text(), want) {
					return nil
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("no line %q in the log of %s within %s; the log began:\n%s", want, pod, timeout, last)
}

// headLines returns the first n lines of s.
func headLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
