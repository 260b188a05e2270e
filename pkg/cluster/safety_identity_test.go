package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

const (
	ourID   = 7000000000000000001
	otherID = 7000000000000000002
)

func withSystemID(id string) func(*v1alpha1.PostgresCluster) {
	return func(p *v1alpha1.PostgresCluster) { p.Status.SystemIdentifier = id }
}

// sysid: the member's PostgreSQL reports this system identifier.
func sysid(id uint64) memberOpt { return func(m *member) { m.db.SystemIdentifier = id } }

// timeline: the member's PostgreSQL reports this timeline.
func timeline(tl uint32) memberOpt { return func(m *member) { m.db.Timeline = tl } }

// identityInput is failoverInput with the foreign members marked as the
// actor marks them (markForeign).
func identityInput(pgc *v1alpha1.PostgresCluster, ms ...*member) planInput {
	in := failoverInput(pgc, ms...)
	c := &Cluster{}
	c.markForeign(pgc, in.obs)
	return in
}

func TestPlanIdentity(t *testing.T) {
	ours := testCluster(3, initialized("demo-1", 3), withSystemID("7000000000000000001"), onTimeline(2))
	two := testCluster(2, initialized("demo-1", 3), withSystemID("7000000000000000001"), readyInStatus("demo-1", "demo-2", "demo-3"))
	tests := []struct {
		name   string
		in     planInput
		kind   actionKind
		member string
		phase  v1alpha1.ClusterPhase
		reason string
	}{
		{"a replica of another database is never promoted, however much WAL it has", identityInput(ours,
			testMember(ours, 1, noPod), testMember(ours, 2, up(RoleReplica), sysid(ourID), timeline(2), at(100)),
			testMember(ours, 3, up(RoleReplica), sysid(otherID), timeline(2), at(900))),
			actPromote, "demo-2", v1alpha1.PhaseFailingOver,
			"promoting demo-2, the replica with the most WAL (0/64); not demo-3: its data has system identifier 7000000000000000002, this cluster's is 7000000000000000001"},
		{"only replicas of another database: nothing is promoted", identityInput(ours,
			testMember(ours, 1, noPod), testMember(ours, 2, up(RoleReplica), sysid(otherID), timeline(2), at(100))),
			actRecreatePod, "demo-1", v1alpha1.PhaseRecovering, ""},
		{"a replica behind the cluster's timeline is passed over for one on it", identityInput(ours,
			testMember(ours, 1, noPod), testMember(ours, 2, up(RoleReplica), sysid(ourID), timeline(1), at(900)),
			testMember(ours, 3, up(RoleReplica), sysid(ourID), timeline(2), at(100))),
			actPromote, "demo-3", v1alpha1.PhaseFailingOver,
			"promoting demo-3, the replica with the most WAL (0/64); not demo-2: it is on timeline 1, behind the cluster's 2"},
		{"a standby's timeline is the newest any report shows (its receiver's here)", identityInput(ours,
			testMember(ours, 1, noPod), testMember(ours, 2, up(RoleReplica), sysid(ourID), timeline(1), at(900),
				func(m *member) { m.db.ReceiverTimeline = 2 }),
			testMember(ours, 3, up(RoleReplica), sysid(ourID), timeline(2), at(100))),
			actPromote, "demo-2", v1alpha1.PhaseFailingOver, ""},
		{"with no replica on the cluster's timeline, WAL decides as before", identityInput(ours,
			testMember(ours, 1, noPod), testMember(ours, 2, up(RoleReplica), sysid(ourID), timeline(1), at(900)),
			testMember(ours, 3, up(RoleReplica), sysid(ourID), timeline(1), at(100))),
			actPromote, "demo-2", v1alpha1.PhaseFailingOver, ""},
		{"scale-down never removes a member of another database", identityInput(two,
			testMember(two, 1, up(RolePrimary), sysid(ourID)), testMember(two, 2, up(RoleReplica), sysid(ourID)),
			testMember(two, 3, up(RoleReplica), sysid(otherID))),
			actRemoveMember, "demo-2", v1alpha1.PhaseScaling, ""},
		{"a member of another database is never re-cloned, even with its slot lost", edit(two, func(in *planInput) {
			(&Cluster{}).markForeign(two, in.obs)
			in.notStreamingSince = map[string]time.Time{"demo-2": now.Add(-time.Hour)}
			in.obs.members[0].db.SlotWALStatus = map[string]string{"demo_2": "lost"}
		}, testMember(two, 1, up(RolePrimary), sysid(ourID)), testMember(two, 2, up(RoleReplica), sysid(otherID), notStreaming)),
			actWait, "demo-2", v1alpha1.PhaseRecovering, "waiting for demo-2 to become ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			assert.Equal(t, tt.member, got.member, "reason: %s", got.reason)
			assert.Equal(t, tt.phase, phaseOf(tt.in.cluster, tt.in.obs, got))
			if tt.reason != "" {
				assert.Equal(t, tt.reason, got.reason)
			}
		})
	}
}

func TestMarkForeignRemembersTheVolume(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), withSystemID("7000000000000000001"))
	c := &Cluster{}
	stranger := testMember(pgc, 2, up(RoleReplica), sysid(otherID))
	stranger.pvc.UID = types.UID("pvc-2")
	obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary), sysid(ourID)), stranger)
	c.markForeign(pgc, obs)
	assert.True(t, obs.isForeign("demo-2"))
	assert.False(t, obs.isForeign("demo-1"))

	stranger.db = nil // its PostgreSQL stopped answering: still foreign
	c.markForeign(pgc, obs)
	assert.True(t, obs.isForeign("demo-2"))

	stranger.pvc = buildPVC(pgc, "demo-2") // a new claim under the same name
	stranger.pvc.UID = types.UID("pvc-2b")
	c.markForeign(pgc, obs)
	assert.False(t, obs.isForeign("demo-2"), "the memory is of the claim, not the name")

	unknown := testCluster(2, initialized("demo-1", 2)) // nothing recorded yet: nothing is foreign
	obs = obsOf(unknown, testMember(unknown, 1, up(RolePrimary), sysid(ourID)), testMember(unknown, 2, up(RoleReplica), sysid(otherID)))
	(&Cluster{}).markForeign(unknown, obs)
	assert.False(t, obs.isForeign("demo-2"))
}

func TestRecordSystemIdentifier(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	tests := []struct {
		name    string
		st      v1alpha1.PostgresClusterStatus
		primary []memberOpt
		want    string
	}{
		{"recorded from the healthy primary", v1alpha1.PostgresClusterStatus{Initialized: true}, []memberOpt{up(RolePrimary), sysid(ourID)}, "7000000000000000001"},
		{"never changed once recorded", v1alpha1.PostgresClusterStatus{Initialized: true, SystemIdentifier: "42"}, []memberOpt{up(RolePrimary), sysid(ourID)}, "42"},
		{"not before the cluster is initialized", v1alpha1.PostgresClusterStatus{}, []memberOpt{up(RolePrimary), sysid(ourID)}, ""},
		{"not from a primary that does not answer", v1alpha1.PostgresClusterStatus{Initialized: true}, []memberOpt{up(RolePrimary), unreachable}, ""},
		{"not an unknown identifier", v1alpha1.PostgresClusterStatus{Initialized: true}, []memberOpt{up(RolePrimary)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.st
			recordSystemIdentifier(&st, obsOf(pgc, testMember(pgc, 1, tt.primary...)))
			assert.Equal(t, tt.want, st.SystemIdentifier)
		})
	}
}

func TestForeignNoticeNamesTheClaim(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), withSystemID("7000000000000000001"))
	in := identityInput(pgc, testMember(pgc, 1, up(RolePrimary), sysid(ourID)), testMember(pgc, 2, up(RoleReplica), sysid(otherID)))
	ns := safetyNotices(in)
	require.Len(t, ns, 1)
	assert.Equal(t, v1alpha1.ConditionDegraded, ns[0].condition)
	assert.Equal(t, metav1.ConditionTrue, ns[0].status)
	assert.Equal(t, reasonSystemIdentifierMismatch, ns[0].reason)
	assert.Equal(t, "volume claim demo-2-data (member demo-2) holds another database: its data has system identifier "+
		"7000000000000000002, this cluster's is 7000000000000000001; it is not made part of the cluster and never deleted "+
		"automatically; delete the claim and pod demo-2 to replace the member with a fresh clone", ns[0].message)
}

// TestAdoptedVolumeOfAnotherDatabase: a member recreated on a volume that
// holds another database gets no slot, is reported once (condition and a
// Warning Event naming the claim) and is never deleted.
func TestAdoptedVolumeOfAnotherDatabase(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), withSystemID("7000000000000000001"))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), sysid(ourID)),
		testMember(pgc, 2, up(RoleReplica), sysid(otherID), notStreaming))
	rec := recordEvents(w)
	for range 3 {
		w.pass()
	}
	st := w.current().Status
	assert.Equal(t, "7000000000000000001", st.SystemIdentifier, "kept")
	cond := findCondition(st.Conditions, v1alpha1.ConditionDegraded)
	require.NotNil(t, cond)
	assert.Equal(t, reasonSystemIdentifierMismatch, cond.Reason)
	assert.Contains(t, cond.Message, "volume claim demo-2-data")
	assert.Equal(t, 1, warnings(rec, reasonSystemIdentifierMismatch), "one Event, not one per pass")
	for _, c := range w.db.CallsTo("EnsureSlot") {
		assert.NotEqual(t, []string{postgres.SlotName("demo-2")}, c.Args, "no slot for another database")
	}
	for _, step := range w.log.writes() {
		assert.NotContains(t, step, "delete persistentvolumeclaims", "never deleted")
	}
}

func findCondition(cs []metav1.Condition, t string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// recordEvents gives the world's actor a recorder that keeps its Events.
func recordEvents(w *world) *record.FakeRecorder {
	rec := record.NewFakeRecorder(1000)
	w.c.cfg.Recorder = rec
	return rec
}

// warnings drains the recorder and counts the Warning Events of reason.
func warnings(rec *record.FakeRecorder, reason string) int {
	n := 0
	for {
		select {
		case e := <-rec.Events:
			if strings.HasPrefix(e, corev1.EventTypeWarning+" "+reason+" ") {
				n++
			}
		default:
			return n
		}
	}
}

// TestSystemIdentifierRecordedOnce: the first pass that sees a healthy
// primary of an initialized cluster records its identifier in status.
func TestSystemIdentifierRecordedOnce(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary), sysid(ourID)))
	w.pass()
	assert.Equal(t, "7000000000000000001", w.current().Status.SystemIdentifier)
	w.db.Update(memberIP(1), func(s *dbfake.Server) { s.Status.SystemIdentifier = otherID })
	w.pass()
	assert.Equal(t, "7000000000000000001", w.current().Status.SystemIdentifier, "never changed afterwards")
}
