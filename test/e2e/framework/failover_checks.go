//go:build e2e

package framework

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PrimaryState is who the primary is and on which timeline it writes.
type PrimaryState struct {
	Name, IP string
	Timeline uint32
}

// CurrentPrimary returns the single primary and its timeline, as
// PostgreSQL reports it (the timeline of the WAL file it writes).
func (tp *Topology) CurrentPrimary() (PrimaryState, error) {
	s := tp.Sample()
	p, ok := s.OnePrimary()
	if !ok {
		return PrimaryState{}, fmt.Errorf("not exactly one primary: %s", s)
	}
	rows, err := queryRows(p.IP, tp.pw, "select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")
	if err != nil {
		return PrimaryState{}, err
	}
	tli, err := strconv.ParseUint(rows[0][0], 16, 32)
	if err != nil {
		return PrimaryState{}, fmt.Errorf("timeline %q: %w", rows[0][0], err)
	}
	return PrimaryState{Name: p.Name, IP: p.IP, Timeline: uint32(tli)}, nil
}

// CheckFailedOver checks that a failover happened and the cluster says so:
// another member is primary on a later timeline, status.primary names it,
// the -rw Service routes to it alone, and an Event since `since` says it
// was promoted.
func (tp *Topology) CheckFailedOver(before, after PrimaryState, since time.Time) []string {
	var problems []string
	if after.Name == before.Name {
		problems = append(problems, fmt.Sprintf("the primary is still %s: no other member was promoted", before.Name))
	}
	if after.Timeline <= before.Timeline {
		problems = append(problems, fmt.Sprintf("timeline %d after the failover, %d before: no promotion", after.Timeline, before.Timeline))
	}
	problems = append(problems, tp.checkRoutedTo(after)...)
	if err := tp.eventSince("Promote", after.Name, since); err != nil {
		problems = append(problems, err.Error())
	}
	return problems
}

// CheckKeptPrimary checks that a fault that did not hit the primary did not
// cost a failover.
func (tp *Topology) CheckKeptPrimary(before, after PrimaryState) []string {
	var problems []string
	if after.Name != before.Name || after.Timeline != before.Timeline {
		problems = append(problems, fmt.Sprintf("primary %s on timeline %d before, %s on timeline %d after: a needless failover",
			before.Name, before.Timeline, after.Name, after.Timeline))
	}
	return append(problems, tp.checkRoutedTo(after)...)
}

// checkRoutedTo checks status.primary and the -rw Service's endpoints.
func (tp *Topology) checkRoutedTo(p PrimaryState) []string {
	var problems []string
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pgc, err := tp.f.PG.PostgresV1alpha1().PostgresClusters(tp.ns).Get(ctx, tp.cluster, metav1.GetOptions{})
	if err != nil {
		return []string{err.Error()}
	}
	if pgc.Status.Primary != p.Name {
		problems = append(problems, fmt.Sprintf("status.primary is %q, the primary is %s", pgc.Status.Primary, p.Name))
	}
	if ips, err := tp.rwEndpoints(ctx); err != nil {
		problems = append(problems, err.Error())
	} else if len(ips) != 1 || ips[0] != p.IP {
		problems = append(problems, fmt.Sprintf("the -rw Service routes to %v, want only %s (%s)", ips, p.Name, p.IP))
	}
	return problems
}

// rwEndpoints are the ready addresses of the -rw Service.
func (tp *Topology) rwEndpoints(ctx context.Context) ([]string, error) {
	list, err := tp.f.Kube.DiscoveryV1().EndpointSlices(tp.ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + tp.cluster + "-rw"})
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, sl := range list.Items {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ips = append(ips, ep.Addresses...)
			}
		}
	}
	return ips, nil
}

// eventSince finds an Event on the cluster with the reason whose message
// names the member, last seen at or after since (Events have one-second
// timestamps).
func (tp *Topology) eventSince(reason, member string, since time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := tp.f.Kube.CoreV1().Events(tp.ns).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + tp.cluster + ",reason=" + reason})
	if err != nil {
		return err
	}
	var seen []string
	for _, ev := range list.Items {
		last := ev.LastTimestamp.Time
		if last.IsZero() {
			last = ev.EventTime.Time
		}
		if !last.Before(since.Truncate(time.Second)) && strings.Contains(ev.Message, member) {
			return nil
		}
		seen = append(seen, fmt.Sprintf("%s %q", last.Format("15:04:05"), ev.Message))
	}
	return fmt.Errorf("no %s Event naming %s since %s; %s Events: %v", reason, member, since.Format("15:04:05"), reason, seen)
}

// TimelineSwitches reads the primary's timeline history: for each earlier
// timeline, the WAL position at which the next one branched off. The
// primary's own timeline has no entry: nothing branched off it yet.
func (tp *Topology) TimelineSwitches(p PrimaryState) (map[uint32]uint64, error) {
	out := map[uint32]uint64{}
	if p.Timeline <= 1 {
		return out, nil
	}
	rows, err := queryRows(p.IP, tp.pw, fmt.Sprintf("select pg_read_file('pg_wal/%08X.history')", p.Timeline))
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(rows[0][0], "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		tli, err := strconv.ParseUint(fields[0], 10, 32)
		if err != nil {
			continue
		}
		out[uint32(tli)] = parseLSN(fields[1])
	}
	return out, nil
}

// LostBeyondBound applies the async rule to acknowledged ids found missing:
// a commit may be lost only if the replica promoted in its place had not
// received it, that is, only if the WAL position recorded right after its
// acknowledgement lies beyond where its timeline branched off. It returns
// the ids the rule does not allow, and those whose position is unknown.
func LostBeyondBound(lost []int64, acked map[int64]WALPoint, primary PrimaryState, switches map[uint32]uint64) (violations, unknown []int64) {
	for _, id := range lost {
		at := acked[id]
		switchLSN, branched := switches[at.Timeline]
		switch {
		case at.Timeline == 0:
			unknown = append(unknown, id)
		case at.Timeline == primary.Timeline:
			violations = append(violations, id) // nothing branched off: it must be there
		case !branched:
			unknown = append(unknown, id) // a timeline that is not an ancestor of today's
		case at.LSN <= switchLSN:
			violations = append(violations, id) // the promoted replica had it
		}
	}
	return violations, unknown
}
