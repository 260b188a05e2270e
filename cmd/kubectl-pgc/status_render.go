package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// messageWidth keeps a condition or Event on one line of a wide terminal.
const messageWidth = 100

// statusView is what the status screen shows, fetched beforehand so that
// rendering is a pure function of it (the tests call it with fixed data).
type statusView struct {
	cluster    *v1alpha1.PostgresCluster
	events     []corev1.Event // this cluster's, oldest first
	showEvents int            // how many of the newest to list
	now        time.Time
}

// renderStatus writes the one-screen summary: overview, members,
// conditions, backups (when configured) and recent Events.
func renderStatus(w io.Writer, v statusView, p painter) {
	renderOverview(w, v, p)
	renderMembers(w, v.cluster, p)
	renderConditions(w, v.cluster, p)
	if v.cluster.Spec.Backup != nil {
		renderBackups(w, v, p)
	}
	renderEvents(w, v, p)
}

func renderOverview(w io.Writer, v statusView, p painter) {
	pgc := v.cluster
	st := pgc.Status
	rows := [][]cell{
		{plain("Cluster"), cell{pgc.Namespace + "/" + pgc.Name, bold}},
		{plain("Phase"), cell{orNone(string(st.Phase)), phaseColor(st.Phase)}},
		{plain("Primary"), primaryCell(st)},
		{plain("Members"), plain(fmt.Sprintf("%d/%d ready, %s replication", st.ReadyMembers, pgc.Spec.Size, replicationMode(pgc)))},
		{plain("Image"), plain(orNone(st.CurrentImage))},
		{plain("Switchover"), plain(switchoverText(pgc))},
	}
	// The last promotion (a failover's or a switchover's) is known only
	// from Events, which expire (after an hour by default): without one
	// the line is left out rather than guessed.
	if e := lastEvent(v.events, "Promote"); e != nil {
		rows = append(rows, []cell{plain("Last promotion"), plain(truncate(age(v.now, eventTime(e))+" ago: "+e.Message, messageWidth))})
	}
	if pgc.Spec.Paused {
		rows = append(rows, []cell{plain("Paused"), {"yes: the operator takes no action (kubectl pgc resume)", yellow}})
	}
	if st.PendingRestart {
		rows = append(rows, []cell{plain("Pending restart"), {"yes: parameters wait for a restart of members", yellow}})
	}
	if st.ObservedGeneration != 0 && st.ObservedGeneration != pgc.Generation {
		rows = append(rows, []cell{plain("Generation"), {fmt.Sprintf("%d (status describes %d: the operator has not seen the latest spec yet)", pgc.Generation, st.ObservedGeneration), yellow}})
	}
	writeTable(w, p, "", nil, rows)
}

func primaryCell(st v1alpha1.PostgresClusterStatus) cell {
	if st.Primary == "" {
		return cell{"none", red}
	}
	if st.Timeline == 0 {
		return plain(st.Primary)
	}
	return plain(fmt.Sprintf("%s (timeline %d)", st.Primary, st.Timeline))
}

func replicationMode(pgc *v1alpha1.PostgresCluster) string {
	if pgc.Spec.Replication.Mode == "" {
		return string(v1alpha1.ReplicationAsync)
	}
	return string(pgc.Spec.Replication.Mode)
}

// switchoverText says what the operator did with the switchover
// annotation: the value it last acted on, and one still pending.
func switchoverText(pgc *v1alpha1.PostgresCluster) string {
	st := pgc.Status
	var parts []string
	if st.SwitchoverTarget != "" && st.SwitchoverTarget != st.Primary {
		parts = append(parts, "in progress to "+st.SwitchoverTarget)
	}
	if req := pgc.Annotations[v1alpha1.SwitchoverAnnotation]; req != "" && req != st.LastSwitchover {
		parts = append(parts, fmt.Sprintf("%q requested, not acted on yet", req))
	}
	if st.LastSwitchover != "" {
		parts = append(parts, fmt.Sprintf("last request %q", st.LastSwitchover))
	}
	if len(parts) == 0 {
		return "none requested"
	}
	return strings.Join(parts, "; ")
}

func renderMembers(w io.Writer, pgc *v1alpha1.PostgresCluster, p painter) {
	fmt.Fprintln(w)
	var rows [][]cell
	for _, m := range pgc.Status.MemberStatuses {
		ready := cell{"yes", green}
		if !m.Ready {
			ready = cell{"no", red}
		}
		lag := "-"
		if m.Role != "primary" {
			lag = bytesText(m.LagBytes)
		}
		rows = append(rows, []cell{plain(m.Name), roleCell(m.Role, m.Name == pgc.Status.Primary), ready, plain(lag)})
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "No members yet.")
		return
	}
	writeTable(w, p, "", []string{"MEMBER", "ROLE", "READY", "LAG"}, rows)
}

func roleCell(role string, primary bool) cell {
	if role == "" {
		role = "none"
	}
	if primary {
		return cell{role, bold}
	}
	return plain(role)
}

func renderConditions(w io.Writer, pgc *v1alpha1.PostgresCluster, p painter) {
	fmt.Fprintln(w)
	var rows [][]cell
	for _, c := range pgc.Status.Conditions {
		rows = append(rows, []cell{plain(c.Type), {string(c.Status), conditionColor(c)}, plain(c.Reason), plain(truncate(c.Message, messageWidth))})
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "No conditions yet.")
		return
	}
	writeTable(w, p, "", []string{"CONDITION", "STATUS", "REASON", "MESSAGE"}, rows)
}

func renderBackups(w io.Writer, v statusView, p painter) {
	pgc := v.cluster
	b := pgc.Status.Backup
	if b == nil {
		b = &v1alpha1.BackupStatus{}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Backups")
	last := "none yet"
	if b.LastSuccessfulBackup != nil {
		last = timeText(v.now, b.LastSuccessfulBackup)
		if b.LastSuccessfulBackupName != "" {
			last += ", " + b.LastSuccessfulBackupName
		}
	}
	rows := [][]cell{
		{plain("Last backup"), plain(last)},
		{plain("Recoverable from"), plain(timeOrNone(v.now, b.FirstRecoverabilityPoint))},
		{plain("Last archived WAL"), plain(walText(v.now, b.LastArchivedWAL, b.LastArchivedTime))},
	}
	if b.LastFailedWAL != "" {
		rows = append(rows, []cell{plain("Last failed WAL"), {truncate(walText(v.now, b.LastFailedWAL, b.LastFailedTime)+": "+b.LastFailure, messageWidth), red}})
	}
	if b.WALPending > 0 {
		rows = append(rows, []cell{plain("WAL pending"), {fmt.Sprint(b.WALPending), yellow}})
	}
	if b.WALDropped > 0 {
		rows = append(rows, []cell{plain("WAL dropped"), {fmt.Sprintf("%d (no point-in-time recovery across them until the next full backup)", b.WALDropped), red}})
	}
	rows = append(rows, []cell{plain("Archiving"), archivingCell(pgc)})
	if s := pgc.Spec.Backup.Schedule; s != "" {
		rows = append(rows, []cell{plain("Schedule"), plain(s)})
	}
	writeTable(w, p, "  ", nil, rows)
}

// archivingCell is the ContinuousArchiving condition in one cell.
func archivingCell(pgc *v1alpha1.PostgresCluster) cell {
	c := meta.FindStatusCondition(pgc.Status.Conditions, v1alpha1.ConditionContinuousArchiving)
	if c == nil {
		return cell{"unknown (no ContinuousArchiving condition yet)", yellow}
	}
	text := string(c.Status)
	if c.Reason != "" {
		text += " (" + c.Reason + ")"
	}
	if c.Message != "" {
		text += ": " + c.Message
	}
	return cell{truncate(text, messageWidth), conditionColor(*c)}
}

func renderEvents(w io.Writer, v statusView, p painter) {
	events := v.events[max(0, len(v.events)-v.showEvents):]
	if len(events) == 0 {
		return
	}
	fmt.Fprintln(w)
	var rows [][]cell
	for _, e := range events {
		typ := plain(e.Type)
		if e.Type == corev1.EventTypeWarning {
			typ.color = yellow
		}
		rows = append(rows, []cell{plain(age(v.now, eventTime(&e))), typ, plain(e.Reason), plain(truncate(e.Message, messageWidth))})
	}
	writeTable(w, p, "", []string{"AGE", "TYPE", "REASON", "EVENT"}, rows)
}

// phaseColor: green when running, red when failed, yellow for anything
// in between.
func phaseColor(phase v1alpha1.ClusterPhase) string {
	switch phase {
	case v1alpha1.PhaseRunning:
		return green
	case v1alpha1.PhaseFailed:
		return red
	}
	return yellow
}

// conditionColor knows which conditions are good when True (Ready) and
// which are bad when True (Degraded, Failed); the rest are neutral.
func conditionColor(c metav1.Condition) string {
	good := map[string]bool{v1alpha1.ConditionReady: true, v1alpha1.ConditionPrimaryAvailable: true,
		v1alpha1.ConditionPasswordsInSync: true, v1alpha1.ConditionContinuousArchiving: true, v1alpha1.ConditionBackupsHealthy: true}
	bad := map[string]bool{v1alpha1.ConditionDegraded: true, v1alpha1.ConditionFailed: true}
	switch {
	case c.Status == metav1.ConditionUnknown:
		return yellow
	case good[c.Type] && c.Status == metav1.ConditionTrue, bad[c.Type] && c.Status == metav1.ConditionFalse:
		return green
	case good[c.Type], bad[c.Type]:
		return red
	case c.Status == metav1.ConditionTrue:
		return yellow // Progressing, Paused: something is going on
	}
	return ""
}

// bytesText prints a lag in binary units with one decimal: exact bytes
// matter only while they are few.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB", "TiB"} {
		if value < unit {
			break
		}
		value, suffix = value/unit, s
	}
	return fmt.Sprintf("%.1f %s", value, suffix)
}

func timeText(now time.Time, t *metav1.Time) string {
	return t.UTC().Format(time.RFC3339) + " (" + age(now, t.Time) + " ago)"
}

func timeOrNone(now time.Time, t *metav1.Time) string {
	if t == nil {
		return "none yet"
	}
	return timeText(now, t)
}

func walText(now time.Time, wal string, at *metav1.Time) string {
	if wal == "" {
		return "none yet"
	}
	if at == nil {
		return wal
	}
	return wal + " at " + timeText(now, at)
}

// age is kubectl's short duration ("42s", "5m", "3h").
func age(now, t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return duration.HumanDuration(now.Sub(t))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
