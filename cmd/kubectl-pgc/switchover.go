package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// switchoverAny asks the operator for the replica with the most WAL.
const switchoverAny = "any"

func newSwitchoverCmd(a *app) *cobra.Command {
	var to string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "switchover CLUSTER [--to MEMBER] [--wait]",
		Short: "Ask for a clean change of primary, to MEMBER or to the replica with the most WAL",
		Long: "switchover sets the postgres-operator.dev/switchover annotation; the operator checkpoints,\n" +
			"stops the primary gracefully (it sends its last WAL) and promotes the target.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.switchover(cmd.Context(), args[0], to, wait, timeout)
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the member to promote (default: the replica with the most WAL)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until status.primary has changed")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "how long --wait waits")
	return cmd
}

func (a *app) switchover(ctx context.Context, name, to string, wait bool, timeout time.Duration) error {
	pgc, err := a.cluster(ctx, name)
	if err != nil {
		return err
	}
	req, note, err := switchoverRequest(pgc, to)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(a.streams.Out, note)
	}
	if err := a.annotate(ctx, name, v1alpha1.SwitchoverAnnotation, req); err != nil {
		return err
	}
	target := req
	if req == switchoverAny {
		target = "the replica with the most WAL"
	}
	fmt.Fprintf(a.streams.Out, "asked postgrescluster %s/%s to switch over from %s to %s (%s=%s)\n",
		a.ns, name, orNone(pgc.Status.Primary), target, v1alpha1.SwitchoverAnnotation, req)
	if !wait {
		return nil
	}
	return a.waitSwitchover(ctx, name, pgc.Status.Primary, req, timeout)
}

// switchoverRequest checks a request against the status before asking, so
// that what the operator would refuse or ignore fails here with the
// reason. The operator acts on a value of the annotation only when it
// differs from status.lastSwitchover: a second "any" would be ignored, so
// it is spelled as the replica "any" would choose (note says so).
func switchoverRequest(pgc *v1alpha1.PostgresCluster, to string) (req, note string, err error) {
	st := pgc.Status
	if to == "" || to == switchoverAny {
		best := bestReplica(pgc)
		if best == "" {
			return "", "", fmt.Errorf("postgrescluster %s has no ready replica to switch over to", pgc.Name)
		}
		if st.LastSwitchover != switchoverAny {
			return switchoverAny, "", nil
		}
		return best, fmt.Sprintf("the operator acted on %q before and acts only on a new value: asking for %s, the ready replica with the least lag", switchoverAny, best), nil
	}
	if to == st.Primary {
		return "", "", fmt.Errorf("%s is already the primary of %s", to, pgc.Name)
	}
	if !slices.ContainsFunc(st.MemberStatuses, func(m v1alpha1.MemberStatus) bool { return m.Name == to }) {
		return "", "", fmt.Errorf("%s is not a member of %s (members: %s)", to, pgc.Name, memberNames(pgc))
	}
	if to == st.LastSwitchover {
		// "any" names the same member when it is the only ready replica.
		if st.LastSwitchover != switchoverAny && readyReplicas(pgc) == 1 && bestReplica(pgc) == to {
			return switchoverAny, fmt.Sprintf("the operator acted on %q before and acts only on a new value: asking for %q, which can only be %s", to, switchoverAny, to), nil
		}
		return "", "", fmt.Errorf("the operator already acted on a switchover to %q (status.lastSwitchover) and acts only on a new value: "+
			"to make %s the primary again, switch over without --to (or --to another member) first", to, to)
	}
	return to, "", nil
}

// bestReplica is the ready replica with the least lag by the status, the
// one the operator's "any" would pick.
func bestReplica(pgc *v1alpha1.PostgresCluster) string {
	best, lag := "", int64(0)
	for _, m := range pgc.Status.MemberStatuses {
		if m.Name == pgc.Status.Primary || !m.Ready || m.Role == "primary" {
			continue
		}
		if best == "" || m.LagBytes < lag {
			best, lag = m.Name, m.LagBytes
		}
	}
	return best
}

func readyReplicas(pgc *v1alpha1.PostgresCluster) int {
	n := 0
	for _, m := range pgc.Status.MemberStatuses {
		if m.Name != pgc.Status.Primary && m.Ready && m.Role != "primary" {
			n++
		}
	}
	return n
}

func memberNames(pgc *v1alpha1.PostgresCluster) string {
	var names []string
	for _, m := range pgc.Status.MemberStatuses {
		names = append(names, m.Name)
	}
	return orNone(strings.Join(names, ", "))
}

// annotate sets one annotation with a merge patch: nothing else on the
// object is touched, whoever changed it since we read it.
func (a *app) annotate(ctx context.Context, name, key, value string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		return err
	}
	_, err = a.pg.PostgresV1alpha1().PostgresClusters(a.ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("annotating PostgresCluster %s/%s: %w", a.ns, name, err)
	}
	return nil
}

// waitSwitchover polls until status.primary names another member, or
// the operator records the request as handled without a new primary
// (refused: the Warning Event says why).
func (a *app) waitSwitchover(ctx context.Context, name, old, req string, timeout time.Duration) error {
	start := a.now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		pgc, err := a.pg.PostgresV1alpha1().PostgresClusters(a.ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			st := pgc.Status
			switch {
			case st.Primary != "" && st.Primary != old:
				fmt.Fprintf(a.streams.Out, "%s is the primary (timeline %d) after %s\n", st.Primary, st.Timeline, a.now().Sub(start).Round(10*time.Millisecond))
				return nil
			case st.LastSwitchover == req && st.SwitchoverTarget == "" && st.Primary == old:
				return fmt.Errorf("the operator refused the switchover: %s", a.refusal(ctx, name))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s waiting for the primary of %s/%s to change from %s (kubectl pgc status %s)", timeout, a.ns, name, old, name)
		case <-time.After(a.poll):
		}
	}
}

// refusal is the message of the newest SwitchoverRefused Event.
func (a *app) refusal(ctx context.Context, name string) string {
	if e := lastEvent(a.clusterEvents(ctx, name), "SwitchoverRefused"); e != nil {
		return e.Message
	}
	return "see kubectl pgc status " + name
}
