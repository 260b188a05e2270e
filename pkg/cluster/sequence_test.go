package cluster

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// These tests pin the order of the writes behind the HA claims. Each runs
// real reconcile passes against the fakes and compares the whole ordered
// log of API and SQL writes (recorder_test.go) with the expected list, so
// swapping any two steps, or adding one, fails the test.

const statusWrite = "update postgresclusters/status demo"

// The patches the actor sends to member pods.
const (
	fencePatch        = `{"metadata":{"labels":{"postgres-operator.dev/role":null},"annotations":{"postgres-operator.dev/fenced":"true"}}}`
	labelPrimaryPatch = `{"metadata":{"labels":{"postgres-operator.dev/role":"primary"}}}`
)

func primaryAt(lsn postgres.LSN) memberOpt { return func(m *member) { m.db.CurrentLSN = lsn } }

// assertPatch checks a recorded pod patch: a JSON merge patch with body.
func assertPatch(t *testing.T, w *world, what, body string) {
	t.Helper()
	p := w.log.action(t, what).(k8stesting.PatchAction)
	assert.Equal(t, types.MergePatchType, p.GetPatchType(), what)
	assert.JSONEq(t, body, string(p.GetPatch()), what)
}

// assertDelete checks a recorded pod delete: its grace period and, when uid
// is set, a UID precondition (so a pod recreated under the same name is
// never the one deleted).
func assertDelete(t *testing.T, w *world, what string, grace int64, uid string) {
	t.Helper()
	opts := w.log.action(t, what).(k8stesting.DeleteAction).GetDeleteOptions()
	require.NotNil(t, opts.GracePeriodSeconds, what)
	assert.Equal(t, grace, *opts.GracePeriodSeconds, what)
	if uid != "" {
		require.NotNil(t, opts.Preconditions, what)
		assert.Equal(t, types.UID(uid), *opts.Preconditions.UID, what)
	}
}

func TestFenceUnlabelsBeforeItDeletes(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	tests := []struct {
		name    string
		primary memberOpt
		want    []string
	}{
		{"a lost primary is unlabelled and marked in one patch, then deleted", exited,
			[]string{"patch pods demo-1", "delete pods demo-1", statusWrite}},
		// An operator that died between the two steps finds the pod fenced
		// and unlabelled: only the delete is left to do.
		{"after a crash between patch and delete: delete only", fencedPod,
			[]string{"delete pods demo-1", statusWrite}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), tt.primary), testMember(pgc, 2, up(RoleReplica), at(100)))
			w.pass()
			assert.Equal(t, tt.want, w.log.writes())
			if tt.want[0] == "patch pods demo-1" {
				assertPatch(t, w, "patch pods demo-1", fencePatch)
			}
			assertDelete(t, w, "delete pods demo-1", 3, "uid-demo-1") // fenceGrace: a hung primary dies quickly
			assert.Equal(t, v1alpha1.PhaseFailingOver, w.current().Status.Phase)
		})
	}
}

// promotion is what promote writes, in order, to make member the primary
// when others are the other live members and standby the one of them that
// runs (it is pointed straight at the new primary).
func promotion(member, syncNames, standby string, others ...string) []string {
	var out []string
	for _, o := range others {
		out = append(out, "sql EnsureSlot @"+member+" "+postgres.SlotName(o))
	}
	return append(out,
		"sql SetSynchronousStandbyNames @"+member+" '"+syncNames+"'",
		"sql Promote @"+member,
		"sql SetParameters @"+standby, // primary_conninfo: the new primary's address
		"patch pods "+member,          // routes -rw: writes may flow from here on
		statusWrite,                   // status.primary names it
		"sql Checkpoint @"+member,
		statusWrite, // the pass's own status
	)
}

func TestPromoteSequence(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) {
		p.Spec.Replication.Mode = v1alpha1.ReplicationSync
	})
	// The old primary's pod is gone (fenced and removed); its volume stays.
	w := newWorld(t, pgc, testMember(pgc, 1, noPod), testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(200)))
	w.pass()

	assert.Equal(t, promotion("demo-3", `ANY 1 ("demo-1","demo-2")`, "demo-2", "demo-1", "demo-2"), w.log.writes())
	assertPatch(t, w, "patch pods demo-3", labelPrimaryPatch)
	st := w.statusWrites()[0].Status
	assert.Equal(t, "demo-3", st.Primary, "the first status write names the new primary")
	assert.False(t, w.db.Server(memberIP(3)).Status.InRecovery)
	assert.True(t, w.db.Server(memberIP(2)).Status.InRecovery, "only one member is promoted")
}

// TestNoPromotionWhileTheFencedPrimaryMayRun: a fenced primary whose pod
// exists and whose PostgreSQL has not exited for good may still accept
// writes; nothing is promoted until it is gone or has exited.
func TestNoPromotionWhileTheFencedPrimaryMayRun(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	restartAlways := func(m *member) { m.pod.Spec.RestartPolicy = corev1.RestartPolicyAlways }
	tests := []struct {
		name     string
		old      []memberOpt
		promoted string // "" when nothing may be promoted
		writes   []string
	}{
		{"fenced, not yet deleted, postgres running: delete it, promote nothing",
			[]memberOpt{up(RolePrimary), fencedPod}, "", []string{"delete pods demo-1", statusWrite}},
		{"fenced and terminating, container still running: wait",
			[]memberOpt{up(RolePrimary), fencedPod, terminating}, "", []string{statusWrite}},
		{"fenced and terminating, container exited but restartPolicy Always may restart it: wait",
			[]memberOpt{up(RolePrimary), containerExited, restartAlways, fencedPod, terminating}, "", []string{statusWrite}},
		{"fenced, container terminated under restartPolicy Never: promote",
			[]memberOpt{up(RolePrimary), containerExited, fencedPod, terminating}, "demo-3", nil},
		{"fenced pod in a terminal phase: promote",
			[]memberOpt{up(RolePrimary), exited, fencedPod, terminating}, "demo-3", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, pgc, testMember(pgc, 1, tt.old...), testMember(pgc, 2, up(RoleReplica), at(100)), testMember(pgc, 3, up(RoleReplica), at(200)))
			w.pass()
			if tt.promoted == "" {
				assert.Equal(t, tt.writes, w.log.writes())
				assert.Empty(t, w.db.CallsTo("Promote"))
				assert.Equal(t, v1alpha1.PhaseFailingOver, w.current().Status.Phase)
				return
			}
			assert.Equal(t, promotion(tt.promoted, "", "demo-2", "demo-1", "demo-2"), w.log.writes())
		})
	}
}

// TestRelabelAfterACrashBetweenPromoteAndLabel: the promoted member answers
// as a primary but still carries the replica label. The next pass labels it
// and records it; it never promotes another member.
func TestRelabelAfterACrashBetweenPromoteAndLabel(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, noPod), testMember(pgc, 2, up(RoleReplica), at(300)),
		testMember(pgc, 3, up(RolePrimary), primaryAt(200), labelledReplica))
	w.pass()

	assert.Equal(t, []string{"patch pods demo-3", statusWrite, statusWrite}, w.log.writes(),
		"no SQL: demo-2, though further ahead, is not promoted")
	assertPatch(t, w, "patch pods demo-3", labelPrimaryPatch)
	assert.Equal(t, "demo-3", w.statusWrites()[0].Status.Primary)
}

// TestSwitchoverSequence follows a switchover through its three passes:
// checkpoint, record the target, fence gracefully; wait while the old
// primary shuts down; promote the target, which wins a tie on WAL.
func TestSwitchoverSequence(t *testing.T) {
	// demo-2 and demo-3 have the same WAL: without the recorded target the
	// tie would go to the lowest ordinal, demo-2.
	pgc := testCluster(3, initialized("demo-1", 3), switchoverTo("demo-3"))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), primaryAt(500)),
		testMember(pgc, 2, up(RoleReplica), at(500)), testMember(pgc, 3, up(RoleReplica), at(500)))

	w.pass()
	assert.Equal(t, []string{"sql Checkpoint @demo-1", statusWrite, "patch pods demo-1", "delete pods demo-1", statusWrite}, w.log.writes())
	recorded := w.statusWrites()[0].Status
	assert.Equal(t, "demo-3", recorded.SwitchoverTarget, "recorded before the fence, so a restarted operator keeps it")
	assert.Equal(t, "demo-3", recorded.LastSwitchover)
	assertPatch(t, w, "patch pods demo-1", fencePatch)
	assertDelete(t, w, "delete pods demo-1", 30, "uid-demo-1") // switchoverGrace: time to send the last WAL

	// The old primary shuts down within its grace period: nothing moves.
	w.waitPod("demo-1", func(p *corev1.Pod) bool { return p != nil && p.DeletionTimestamp != nil })
	w.log.reset()
	w.pass()
	assert.Equal(t, []string{statusWrite}, w.log.writes(), "waiting for the old primary: no promotion")

	w.kubeletRemoves("demo-1")
	w.log.reset()
	w.pass()
	assert.Equal(t, promotion("demo-3", "", "demo-2", "demo-1", "demo-2"), w.log.writes())
	st := w.current().Status
	assert.Equal(t, "demo-3", st.Primary)
	assert.Empty(t, st.SwitchoverTarget, "cleared once the target is primary")
}

// TestCreateMemberSequence: the ordinal is recorded before anything is
// created (never handed out twice), and the replica's slot exists on the
// primary before its volume and pod (the primary keeps every WAL segment
// the clone needs).
func TestCreateMemberSequence(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 1))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)))
	w.pass()

	assert.Equal(t, []string{
		statusWrite,
		"sql EnsureSlot @demo-1 demo_2",
		"create persistentvolumeclaims demo-2-data",
		"create pods demo-2",
		statusWrite,
	}, w.log.writes())
	assert.Equal(t, int32(2), w.statusWrites()[0].Status.LastOrdinal)
	pod := w.log.action(t, "create pods demo-2").(k8stesting.CreateAction).GetObject().(*corev1.Pod)
	assert.Equal(t, RoleReplica, pod.Labels[RoleLabel])
	assert.Equal(t, BootstrapClone, pod.Annotations[BootstrapAnnotation])
	assert.Equal(t, v1alpha1.PhaseScaling, w.current().Status.Phase)
}

// TestScaleDownSequence removes the highest-ordinal member that is not the
// primary: its pod, then its volume, then its slot on the primary (dropped
// last, so a pod that is still streaming never loses WAL it needs).
func TestScaleDownSequence(t *testing.T) {
	tests := []struct {
		name    string
		primary int32
		victim  string
	}{
		{"the highest replica goes", 1, "demo-3"},
		{"never the primary, even with the highest ordinal", 3, "demo-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pgc := testCluster(2, initialized(MemberName("demo", tt.primary), 3))
			var ms []*member
			for ord := int32(1); ord <= 3; ord++ {
				role := RoleReplica
				if ord == tt.primary {
					role = RolePrimary
				}
				ms = append(ms, testMember(pgc, ord, up(role)))
			}
			w := newWorld(t, pgc, ms...)
			w.pass()

			primary := MemberName("demo", tt.primary)
			assert.Equal(t, []string{
				"delete pods " + tt.victim,
				"delete persistentvolumeclaims " + tt.victim + "-data",
				"sql DropSlot @" + primary + " " + strings.ReplaceAll(tt.victim, "-", "_"),
				statusWrite,
			}, w.log.writes())
		})
	}
}
