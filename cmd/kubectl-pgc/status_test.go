package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// demoEvents are the cluster's recent Events, and one about another
// cluster that must not show.
func demoEvents() []runtime.Object {
	other := event("x", corev1.EventTypeNormal, "Promote", "promoting demo2-1", time.Minute)
	other.InvolvedObject.Name = "demo2"
	return []runtime.Object{
		event("e1", corev1.EventTypeWarning, "Fence", "fencing demo-2: its pod is gone", 10*time.Minute),
		event("e2", corev1.EventTypeNormal, "Promote", "promoting demo-1, the replica with the most WAL", 9*time.Minute),
		event("e3", corev1.EventTypeNormal, "CreateMember", "creating demo-3", 8*time.Minute),
		other,
	}
}

func TestStatusScreen(t *testing.T) {
	pgc := demo()
	pgc.Status.LastSwitchover = "demo-1"
	e := newTestEnv(t, []runtime.Object{pgc}, demoEvents()...)

	require.NoError(t, e.exec("status", "demo", "--events", "2"))
	want := `Cluster         db/demo
Phase           Running
Primary         demo-1 (timeline 2)
Members         2/2 ready, async replication
Image           localhost/postgres:15
Switchover      last request "demo-1"
Last promotion  9m ago: promoting demo-1, the replica with the most WAL

MEMBER  ROLE     READY  LAG
demo-1  primary  yes    -
demo-2  replica  yes    3.0 MiB

CONDITION  STATUS  REASON           MESSAGE
Ready      True    AllMembersReady  2 of 2 members ready
Degraded   False   AsExpected

AGE  TYPE    REASON        EVENT
9m   Normal  Promote       promoting demo-1, the replica with the most WAL
8m   Normal  CreateMember  creating demo-3
`
	assert.Equal(t, want, e.out.String())
	assert.NotContains(t, e.out.String(), "\x1b[", "no colour when stdout is not a terminal")
}

// What needs a look says so: paused, a pending restart, a switchover not
// acted on, no primary, an unready member, a status behind the spec.
func TestStatusTrouble(t *testing.T) {
	pgc := demo()
	pgc.Generation = 4
	pgc.Spec.Paused = true
	pgc.Annotations = map[string]string{v1alpha1.SwitchoverAnnotation: "demo-2"}
	pgc.Status.Phase, pgc.Status.Primary, pgc.Status.PendingRestart = v1alpha1.PhaseFailingOver, "", true
	pgc.Status.MemberStatuses[0].Ready = false
	e := newTestEnv(t, []runtime.Object{pgc})

	require.NoError(t, e.exec("status", "demo"))
	out := e.out.String()
	for _, line := range []string{
		"Phase            FailingOver\n",
		"Primary          none\n",
		`Switchover       "demo-2" requested, not acted on yet` + "\n",
		"Paused           yes: the operator takes no action (kubectl pgc resume)\n",
		"Pending restart  yes: parameters wait for a restart of members\n",
		"Generation       4 (status describes 3: the operator has not seen the latest spec yet)\n",
		"demo-1  primary  no     -\n",
	} {
		assert.Contains(t, out, line)
	}
	assert.NotContains(t, out, "Last promotion", "no Event, no guess")
	assert.NotContains(t, out, "EVENT")
	assert.NotContains(t, out, "Backups", "no spec.backup, no backup section")
}

func TestStatusBackups(t *testing.T) {
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-d)); return &t }
	pgc := demo()
	pgc.Spec.Backup = &v1alpha1.BackupSpec{Schedule: "0 3 * * *"}
	pgc.Status.Backup = &v1alpha1.BackupStatus{
		LastSuccessfulBackup: at(9 * time.Hour), LastSuccessfulBackupName: "demo-20261201030000",
		FirstRecoverabilityPoint: at(7 * 24 * time.Hour),
		LastArchivedWAL:          "000000020000000000000007", LastArchivedTime: at(30 * time.Second),
		LastFailedWAL: "000000020000000000000006", LastFailedTime: at(time.Hour), LastFailure: "could not connect",
		WALPending: 3,
	}
	pgc.Status.Conditions = append(pgc.Status.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionContinuousArchiving, Status: metav1.ConditionTrue, Reason: "Archiving", Message: "WAL reaches the store"})
	e := newTestEnv(t, []runtime.Object{pgc})

	require.NoError(t, e.exec("status", "demo"))
	want := `
Backups
  Last backup        2026-12-01T03:00:00Z (9h ago), demo-20261201030000
  Recoverable from   2026-11-24T12:00:00Z (7d ago)
  Last archived WAL  000000020000000000000007 at 2026-12-01T11:59:30Z (30s ago)
  Last failed WAL    000000020000000000000006 at 2026-12-01T11:00:00Z (60m ago): could not connect
  WAL pending        3
  Archiving          True (Archiving): WAL reaches the store
  Schedule           0 3 * * *
`
	assert.Contains(t, e.out.String(), want)
}

// Backups configured but nothing reported yet: say "none yet", never
// leave the section out.
func TestStatusBackupsNoneYet(t *testing.T) {
	pgc := demo()
	pgc.Spec.Backup = &v1alpha1.BackupSpec{}
	e := newTestEnv(t, []runtime.Object{pgc})
	require.NoError(t, e.exec("status", "demo"))
	assert.Contains(t, e.out.String(), `
Backups
  Last backup        none yet
  Recoverable from   none yet
  Last archived WAL  none yet
  Archiving          unknown (no ContinuousArchiving condition yet)
`)
}

func TestStatusColourOnlyOnATerminalWithoutNoColor(t *testing.T) {
	for _, tc := range []struct {
		name         string
		tty, noColor bool
		want         bool
	}{
		{"terminal", true, false, true},
		{"terminal with NO_COLOR", true, true, false},
		{"pipe", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, []runtime.Object{demo()})
			e.a.isTTY = func(io.Writer) bool { return tc.tty }
			e.a.lookupEnv = func(k string) (string, bool) { return "", tc.noColor && k == "NO_COLOR" }
			require.NoError(t, e.exec("status", "demo"))
			if tc.want {
				assert.Contains(t, e.out.String(), green+"Running"+reset)
				assert.Contains(t, e.out.String(), green+"True"+reset+"    AllMembersReady", "columns line up around colour codes")
			} else {
				assert.NotContains(t, e.out.String(), "\x1b[")
			}
		})
	}
}

func TestStatusMissingCluster(t *testing.T) {
	e := newTestEnv(t, nil)
	err := e.exec("status", "nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PostgresCluster db/nope")
}

func TestConditionColour(t *testing.T) {
	c := func(typ string, s metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: typ, Status: s}
	}
	assert.Equal(t, green, conditionColor(c(v1alpha1.ConditionReady, metav1.ConditionTrue)))
	assert.Equal(t, red, conditionColor(c(v1alpha1.ConditionReady, metav1.ConditionFalse)))
	assert.Equal(t, red, conditionColor(c(v1alpha1.ConditionDegraded, metav1.ConditionTrue)))
	assert.Equal(t, green, conditionColor(c(v1alpha1.ConditionFailed, metav1.ConditionFalse)))
	assert.Equal(t, yellow, conditionColor(c(v1alpha1.ConditionPrimaryAvailable, metav1.ConditionUnknown)))
	assert.Equal(t, yellow, conditionColor(c(v1alpha1.ConditionProgressing, metav1.ConditionTrue)))
	assert.Equal(t, "", conditionColor(c(v1alpha1.ConditionProgressing, metav1.ConditionFalse)))
}

func TestBytesText(t *testing.T) {
	assert.Equal(t, "0 B", bytesText(0))
	assert.Equal(t, "1023 B", bytesText(1023))
	assert.Equal(t, "1.5 KiB", bytesText(1536))
	assert.Equal(t, "2.0 GiB", bytesText(2<<30))
}
