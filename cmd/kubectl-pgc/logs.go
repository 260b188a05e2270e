package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/cluster"
)

const (
	// memberContainer runs PostgreSQL in a member pod (pod.go's containerName).
	memberContainer = "postgres"
	// The operator's Deployment (manifests/): its namespace and pod label.
	operatorNamespace = "postgres-operator"
	operatorSelector  = "app.kubernetes.io/name=postgres-operator"
)

// logsOptions are the flags of `logs`.
type logsOptions struct {
	operator   bool
	operatorNS string
	follow     bool
	tail       int64
	since      time.Duration
}

func newLogsCmd(a *app) *cobra.Command {
	o := logsOptions{operatorNS: operatorNamespace, tail: -1}
	cmd := &cobra.Command{
		Use:   "logs CLUSTER [MEMBER] [--operator] [-f]",
		Short: "A member's PostgreSQL log (default: the primary's), or the operator's lines about this cluster",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.operator {
				if len(args) == 2 {
					return errors.New("--operator shows the operator's log for the whole cluster: give no MEMBER")
				}
				return a.operatorLogs(cmd.Context(), args[0], o)
			}
			member := ""
			if len(args) == 2 {
				member = args[1]
			}
			return a.memberLogs(cmd.Context(), args[0], member, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.operator, "operator", false, "the operator pods' log lines that name this cluster")
	f.StringVar(&o.operatorNS, "operator-namespace", o.operatorNS, "the operator's namespace")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep streaming new lines")
	f.Int64Var(&o.tail, "tail", o.tail, "only the last N lines of each log, before --operator's filter (-1: all)")
	f.DurationVar(&o.since, "since", 0, "only lines newer than this (e.g. 10m)")
	return cmd
}

func (o logsOptions) podLogOptions(container string) *corev1.PodLogOptions {
	opts := &corev1.PodLogOptions{Container: container, Follow: o.follow}
	if o.tail >= 0 {
		opts.TailLines = &o.tail
	}
	if o.since > 0 {
		secs := int64(o.since.Seconds())
		opts.SinceSeconds = &secs
	}
	return opts
}

// memberLogs copies a member's PostgreSQL container log: the primary's
// unless a member is named.
func (a *app) memberLogs(ctx context.Context, name, member string, o logsOptions) error {
	pgc, err := a.cluster(ctx, name)
	if err != nil {
		return err
	}
	if member == "" {
		if member = pgc.Status.Primary; member == "" {
			return fmt.Errorf("%s has no primary: name a member (kubectl pgc status %s lists them)", name, name)
		}
	}
	pod, err := a.kube.CoreV1().Pods(a.ns).Get(ctx, member, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("member %s: %w", member, err)
	}
	if pod.Labels[cluster.ClusterLabel] != name {
		return fmt.Errorf("pod %s is not a member of %s", member, name)
	}
	stream, err := a.kube.CoreV1().Pods(a.ns).GetLogs(member, o.podLogOptions(memberContainer)).Stream(ctx)
	if err != nil {
		return fmt.Errorf("log of %s: %w", member, err)
	}
	defer stream.Close()
	_, err = io.Copy(a.streams.Out, stream)
	return err
}

// operatorLogs prints the lines of every operator pod that name this
// cluster: the operator logs each line of a cluster's actor and
// controller with the key cluster="<namespace>/<name>" (klog.KRef).
// Every pod is read: only the leader acts, but which one leads changes.
func (a *app) operatorLogs(ctx context.Context, name string, o logsOptions) error {
	if err := a.connect(); err != nil {
		return err
	}
	pods, err := a.kube.CoreV1().Pods(o.operatorNS).List(ctx, metav1.ListOptions{LabelSelector: operatorSelector})
	if err != nil {
		return fmt.Errorf("listing the operator pods in %s: %w", o.operatorNS, err)
	}
	if len(pods.Items) == 0 {
		return fmt.Errorf("no operator pods (%s) in namespace %s: set --operator-namespace", operatorSelector, o.operatorNS)
	}
	needle := clusterKey(a.ns, name)
	out := &lineWriter{w: a.streams.Out}
	var wg sync.WaitGroup
	errs := make([]error, len(pods.Items))
	for i, pod := range pods.Items {
		prefix := ""
		if len(pods.Items) > 1 {
			prefix = "[" + pod.Name + "] "
		}
		read := func() { errs[i] = a.filterPodLog(ctx, o, pod.Name, needle, prefix, out) }
		if !o.follow {
			read() // one pod after the other: the output stays in order per pod
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); read() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// clusterKey is how the operator's log lines name a cluster; its closing
// quote keeps cluster "ns/a" from matching the lines of "ns/ab".
func clusterKey(namespace, name string) string {
	return fmt.Sprintf("cluster=%q", namespace+"/"+name)
}

func (a *app) filterPodLog(ctx context.Context, o logsOptions, pod, needle, prefix string, out io.Writer) error {
	stream, err := a.kube.CoreV1().Pods(o.operatorNS).GetLogs(pod, o.podLogOptions("")).Stream(ctx)
	if err != nil {
		return fmt.Errorf("log of %s: %w", pod, err)
	}
	defer stream.Close()
	return filterLines(stream, out, needle, prefix)
}

// filterLines copies the lines of r that contain needle, with a prefix.
func filterLines(r io.Reader, w io.Writer, needle, prefix string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20) // a panic's stack can make long lines
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, needle) {
			if _, err := io.WriteString(w, prefix+line+"\n"); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// lineWriter serialises whole-line writes from the followers of several
// pods, so lines never interleave.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
