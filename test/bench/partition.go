package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// The partition scenario (issue 14), on the local cluster with three nodes
// (sudo make local-up NODES=3): the primary's node cut off from everything
// while it keeps running, then stopped outright. For each fault and mode it
// prints how long after the fault the old primary took its last write, as
// seen by a client on its own node (which still reaches it), and how long
// until the first write the new primary acknowledged, as seen by a client
// of <cluster>-rw on the control plane's side. The old primary taking a
// write after the new one did is a safety violation, as is a lost
// acknowledged commit in sync mode.

const (
	nodeFaultCut  = "cut"
	nodeFaultStop = "stop"
	// defaultFence is T, spec.failover.fenceAfterSeconds at its default.
	defaultFence = 10 * time.Second
)

// partitionRun is one fault's outcome.
type partitionRun struct {
	fault string
	mode  v1alpha1.ReplicationMode
	// oldStopped: fault → the old primary's last acknowledged write (0:
	// none after the fault); newFirst: fault → the first write another
	// incarnation acknowledged.
	oldStopped, newFirst time.Duration
	overlap              bool // the old primary acknowledged after the new one had
	oldAcked, oldLost    int  // writes the old primary acknowledged after the fault; missing later
	acked, lost          int  // the -rw client's acknowledged writes; missing later
	err                  error
}

// partitionCluster is the cluster the runs of one mode share.
type partitionCluster struct {
	ns, name, password, rw string
	mode                   v1alpha1.ReplicationMode
}

func (e *env) runPartition(ctx context.Context) ([]partitionRun, error) {
	if err := e.needExtraNodes(ctx, 2); err != nil {
		return nil, err
	}
	var runs []partitionRun
	ids := &atomic.Int64{}
	for _, mode := range e.opts.modes {
		c, err := e.partitionCluster(ctx, mode)
		if err != nil {
			return runs, err
		}
		for _, fault := range []string{nodeFaultCut, nodeFaultStop} {
			for i := 1; i <= e.opts.runs; i++ {
				r := e.partitionOnce(ctx, c, fault, ids, int64(len(runs)+1))
				logf("partition %s %s run %d: old primary's last write +%s, new primary's first write +%s, overlap %v, lost %d (old side %d/%d), err %v",
					fault, mode, i, secs(r.oldStopped), secs(r.newFirst), r.overlap, r.lost, r.oldLost, r.oldAcked, r.err)
				runs = append(runs, r)
				if r.err != nil && ctx.Err() != nil {
					return runs, ctx.Err()
				}
			}
		}
	}
	return runs, nil
}

// needExtraNodes fails with what to do unless n extra nodes are Ready.
func (e *env) needExtraNodes(ctx context.Context, n int) error {
	nodes, err := e.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ready := 0
	for _, node := range nodes.Items {
		if extraNodeNetns(node.Name) != "" && nodeReady(&node) {
			ready++
		}
	}
	if ready < n {
		return fmt.Errorf("the partition scenario needs %d extra nodes Ready, found %d: sudo make local-up NODES=%d", n, ready, n+1)
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// extraNodeNetns is the network namespace of an extra node of the local
// cluster (local-node-N runs in lc-nodeN), "" for the first node.
func extraNodeNetns(node string) string {
	n, ok := strings.CutPrefix(node, "local-node-")
	if !ok || n == "" {
		return ""
	}
	return "lc-node" + n
}

func (e *env) partitionCluster(ctx context.Context, mode v1alpha1.ReplicationMode) (*partitionCluster, error) {
	ns, err := e.namespace(ctx, "part")
	if err != nil {
		return nil, err
	}
	c := &partitionCluster{ns: ns, name: "pt-" + string(mode), mode: mode}
	if _, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Create(ctx, newCluster(ns, c.name, 3, mode), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if _, _, err := e.waitReady(ctx, ns, c.name, 5*time.Minute); err != nil {
		return nil, err
	}
	if c.password, err = e.password(ctx, ns, c.name); err != nil {
		return nil, err
	}
	if c.rw, err = e.rwAddress(ctx, ns, c.name); err != nil {
		return nil, err
	}
	return c, pgTarget{host: c.rw, password: c.password}.exec(ctx, createTableSQL)
}

// partitionOnce: settle, put the primary on an extra node, start both
// writers, inject the fault, wait for the new primary's first write, undo
// the fault, settle again and count what was lost.
func (e *env) partitionOnce(ctx context.Context, c *partitionCluster, fault string, ids *atomic.Int64, run int64) (r partitionRun) {
	r = partitionRun{fault: fault, mode: c.mode, oldStopped: -1, newFirst: -1}
	primary, err := e.primaryOnExtraNode(ctx, c)
	if err != nil {
		r.err = err
		return r
	}
	old := pgTarget{host: primary.Status.PodIP, password: c.password}
	var oldInc incarnation
	if oldInc, err = scanIncarnationOf(ctx, old); err != nil {
		r.err = err
		return r
	}
	host := startWriter(pgTarget{host: c.rw, password: c.password}, ids)
	node, err := startNodeWriter(extraNodeNetns(primary.Spec.NodeName), primary.Status.PodIP, c.password, run*1_000_000_000)
	if err != nil {
		host.halt()
		r.err = err
		return r
	}
	t0, firstNew, err := e.injectNodeFault(ctx, fault, primary.Spec.NodeName, host, node, oldInc)
	oldAcks, hostLog := node.halt(), host.halt()
	undo := map[string]string{nodeFaultCut: "heal", nodeFaultStop: "start"}[fault]
	if uerr := nodeCommand(ctx, undo, primary.Spec.NodeName); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		r.err = err
		return r
	}
	r.newFirst = firstNew.end.Sub(t0)
	r.measureOld(t0, firstNew.end, oldAcks, hostLog, oldInc)
	if _, err := e.settle(ctx, c.ns, c.name, c.password, 5*time.Minute); err != nil {
		r.err = fmt.Errorf("after %s: %w", undo, err)
		return r
	}
	r.err = r.countLost(ctx, pgTarget{host: c.rw, password: c.password}, oldAcks, hostLog, t0)
	return r
}

// injectNodeFault cuts or stops the node and waits for the first write a
// new primary acknowledges, then a moment more, so that a write the old
// primary took after it would be seen.
func (e *env) injectNodeFault(ctx context.Context, fault, node string, host *writer, nw *nodeWriter, oldInc incarnation) (time.Time, write, error) {
	if err := poll(ctx, 30*time.Second, 50*time.Millisecond, func() (bool, error) {
		return host.acked() > 0 && !nw.lastAck().IsZero(), nil
	}); err != nil {
		return time.Time{}, write{}, fmt.Errorf("both writers writing before the fault: %w", err)
	}
	t0 := time.Now()
	if err := nodeCommand(ctx, fault, node); err != nil {
		return t0, write{}, err
	}
	var first write
	err := poll(ctx, 3*time.Minute, 50*time.Millisecond, func() (bool, error) {
		var ok bool
		first, ok = host.firstAckAfter(t0, oldInc)
		return ok, nil
	})
	if err != nil {
		return t0, first, fmt.Errorf("no write on a new primary after the %s: %w", fault, err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(3 * time.Second): // a late write on the old side would show
	}
	return t0, first, ctx.Err()
}

// measureOld: when the old primary last acknowledged, and whether that
// was after the new primary's first acknowledgement.
func (r *partitionRun) measureOld(t0, newFirst time.Time, nodeAcks map[int64]time.Time, hostLog []write, oldInc incarnation) {
	last := time.Time{}
	for _, at := range nodeAcks {
		if at.After(t0) {
			r.oldAcked++
			if at.After(last) {
				last = at
			}
		}
	}
	for _, w := range hostLog {
		if w.ok && w.on == oldInc && w.end.After(last) {
			last = w.end
		}
	}
	r.oldStopped = 0
	if last.After(t0) {
		r.oldStopped = last.Sub(t0)
	}
	r.overlap = last.After(newFirst)
}

// countLost checks every acknowledged write against the new primary.
func (r *partitionRun) countLost(ctx context.Context, primary pgTarget, nodeAcks map[int64]time.Time, hostLog []write, t0 time.Time) error {
	var err error
	if r.acked, r.lost, err = lostWrites(ctx, primary, hostLog); err != nil {
		return err
	}
	var after []write
	for id, at := range nodeAcks {
		if at.After(t0) {
			after = append(after, write{id: id, ok: true})
		}
	}
	_, r.oldLost, err = lostWrites(ctx, primary, after)
	return err
}

// primaryOnExtraNode settles the cluster and returns its primary's pod,
// first switching over to a member on an extra node when the primary is
// on the first one (which hosts the control plane and cannot be cut).
func (e *env) primaryOnExtraNode(ctx context.Context, c *partitionCluster) (*corev1.Pod, error) {
	for attempt := 0; attempt < 3; attempt++ {
		if _, err := e.settle(ctx, c.ns, c.name, c.password, 5*time.Minute); err != nil {
			return nil, err
		}
		pods, err := e.memberPods(ctx, c.ns, c.name)
		if err != nil {
			return nil, err
		}
		var primary, target *corev1.Pod
		for i := range pods {
			p := &pods[i]
			switch {
			case p.Labels[roleLabel] == "primary":
				primary = p
			case extraNodeNetns(p.Spec.NodeName) != "" && target == nil:
				target = p
			}
		}
		if primary != nil && extraNodeNetns(primary.Spec.NodeName) != "" {
			return primary, nil
		}
		if target == nil {
			return nil, fmt.Errorf("no member of %s on an extra node", c.name)
		}
		if err := e.switchoverTo(ctx, c, target.Name); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("the primary of %s stayed on the first node", c.name)
}

// switchoverTo asks for a switchover to member and waits until it leads.
func (e *env) switchoverTo(ctx context.Context, c *partitionCluster, member string) error {
	api := e.pg.PostgresV1alpha1().PostgresClusters(c.ns)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{v1alpha1.SwitchoverAnnotation: member}}})
	if _, err := api.Patch(ctx, c.name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return err
	}
	_, _, err := e.waitCluster(ctx, c.ns, c.name, 2*time.Minute, func(p *v1alpha1.PostgresCluster) bool {
		return p.Status.Primary == member && clusterReady(p)
	})
	return err
}

// scanIncarnationOf asks a server which incarnation it is.
func scanIncarnationOf(ctx context.Context, t pgTarget) (incarnation, error) {
	db, conn, err := t.open(ctx, 3*time.Second)
	if err != nil {
		return incarnation{}, err
	}
	defer db.Close()
	defer conn.Close()
	return scanIncarnation(conn.QueryRowContext(ctx, "select current_setting('cluster_name'), pg_postmaster_start_time()"))
}

// nodeCommand runs hack/local-cluster.sh node ACTION NODE.
func nodeCommand(ctx context.Context, action, node string) error {
	out, err := exec.CommandContext(ctx, "hack/local-cluster.sh", "node", action, node).CombinedOutput()
	if err != nil {
		return fmt.Errorf("node %s %s: %w: %s", action, node, err, strings.TrimSpace(string(out)))
	}
	return nil
}
