package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func retained(p *v1alpha1.PostgresCluster) { p.Spec.Storage.RetainOnDelete = true }

// ownedBy replaces a member's claim owner references.
func ownedBy(refs ...metav1.OwnerReference) memberOpt {
	return func(m *member) { m.pvc.OwnerReferences = refs }
}

func staleRef(pgc *v1alpha1.PostgresCluster) metav1.OwnerReference {
	ref := ownerRef(pgc)
	ref.UID = "uid-of-a-deleted-cluster"
	return ref
}

func TestPlanRetain(t *testing.T) {
	keep := testCluster(2, initialized("demo-1", 2), retained)
	drop := testCluster(2, initialized("demo-1", 2))
	other := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "x", UID: "uid-x", Controller: ptr.To(true)}
	tests := []struct {
		name    string
		pgc     *v1alpha1.PostgresCluster
		members []*member
		member  string   // "" when nothing is to be done
		add     bool     // the plan adds the cluster's reference
		dropped []string // UIDs the plan drops
	}{
		{name: "retained volumes without owner stay so", pgc: keep,
			members: []*member{testMember(keep, 1, up(RolePrimary)), testMember(keep, 2, up(RoleReplica))}},
		{name: "owned volumes stay owned", pgc: drop,
			members: []*member{testMember(drop, 1, up(RolePrimary)), testMember(drop, 2, up(RoleReplica))}},
		{name: "retainOnDelete turned on releases the first owned claim", pgc: keep,
			members: []*member{testMember(keep, 1, up(RolePrimary), ownedBy(ownerRef(keep))), testMember(keep, 2, up(RoleReplica), ownedBy(ownerRef(keep)))},
			member:  "demo-1", dropped: []string{"uid-demo"}},
		{name: "one claim per pass: the next one after the first is done", pgc: keep,
			members: []*member{testMember(keep, 1, up(RolePrimary)), testMember(keep, 2, up(RoleReplica), ownedBy(ownerRef(keep)))},
			member:  "demo-2", dropped: []string{"uid-demo"}},
		{name: "retainOnDelete turned off owns the claim again", pgc: drop,
			members: []*member{testMember(drop, 1, up(RolePrimary), ownedBy())},
			member:  "demo-1", add: true},
		{name: "a stale reference of a deleted namesake goes when retaining", pgc: keep,
			members: []*member{testMember(keep, 1, up(RolePrimary), ownedBy(staleRef(keep)))},
			member:  "demo-1", dropped: []string{"uid-of-a-deleted-cluster"}},
		{name: "a stale reference is replaced by this cluster's", pgc: drop,
			members: []*member{testMember(drop, 1, up(RolePrimary), ownedBy(staleRef(drop)))},
			member:  "demo-1", add: true, dropped: []string{"uid-of-a-deleted-cluster"}},
		{name: "a claim someone else controls is not taken", pgc: drop,
			members: []*member{testMember(drop, 1, up(RolePrimary), ownedBy(other))}},
		{name: "a claim being deleted is left alone", pgc: keep,
			members: []*member{testMember(keep, 1, noPod, ownedBy(ownerRef(keep)), volumeTerminating)}},
		{name: "a member without a volume is skipped", pgc: drop,
			members: []*member{testMember(drop, 1, noVolume), testMember(drop, 2, up(RoleReplica), ownedBy())},
			member:  "demo-2", add: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := planRetain(input(tt.pgc, obsOf(tt.pgc, tt.members...)))
			if tt.member == "" {
				assert.False(t, ok, "nothing to do, got %s: %s", got.kind, got.reason)
				return
			}
			require.True(t, ok)
			assert.Equal(t, actSetVolumeOwner, got.kind)
			assert.Equal(t, tt.member, got.member)
			change := volumeOwnerChange(tt.pgc, obsOf(tt.pgc, tt.members...).members.byName(tt.member).pvc)
			assert.Equal(t, tt.add, change.add)
			var uids []string
			for _, ref := range change.drop {
				uids = append(uids, string(ref.UID))
			}
			assert.Equal(t, tt.dropped, uids)
		})
	}
}

// Waits elsewhere never hold the volume ownership back: a cluster whose
// primary is gone (failover waits) still releases its claims at once.
func TestPlanRetainComesBeforeWaits(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2), retained)
	members := []*member{
		testMember(pgc, 1, noPod, ownedBy(ownerRef(pgc))),
		testMember(pgc, 2, up(RoleReplica), ownedBy(ownerRef(pgc))),
	}
	got := plan(input(pgc, obsOf(pgc, members...)))
	assert.Equal(t, actSetVolumeOwner, got.kind, got.reason)

	paused := testCluster(1, initialized("demo-1", 1), retained, func(p *v1alpha1.PostgresCluster) { p.Spec.Paused = true })
	got = plan(input(paused, obsOf(paused, testMember(paused, 1, up(RolePrimary), ownedBy(ownerRef(paused))))))
	assert.Equal(t, actNone, got.kind, "paused means no action at all, this one included")
}

// The actor patches the claim in the API: off, on, and back.
func TestSetVolumeOwnerPatchesTheClaim(t *testing.T) {
	owned := testCluster(1, initialized("demo-1", 1))
	claim := buildPVC(owned, "demo-1")
	claim.UID = "uid-claim"
	f := newActorFixture(t, owned, claim)
	get := func() *corev1.PersistentVolumeClaim {
		got, err := f.kube.CoreV1().PersistentVolumeClaims("ns").Get(f.ctx, "demo-1-data", metav1.GetOptions{})
		require.NoError(t, err)
		return got
	}
	apply := func(pgc *v1alpha1.PostgresCluster) {
		t.Helper()
		obs := obsOf(pgc, &member{name: "demo-1", ordinal: 1, pvc: get()})
		act, ok := planRetain(input(pgc, obs))
		require.True(t, ok)
		_, err := f.c.apply(f.ctx, pgc, obs, act)
		require.NoError(t, err)
	}

	keep := owned.DeepCopy()
	keep.Spec.Storage.RetainOnDelete = true
	apply(keep)
	assert.Empty(t, get().OwnerReferences, "a retained claim has no owner: deleting the cluster keeps it")
	assert.Equal(t, types.UID("uid-claim"), get().UID)

	apply(owned)
	refs := get().OwnerReferences
	require.Len(t, refs, 1)
	assert.Equal(t, ownerRef(owned), refs[0], "the cluster controls its claim again")

	_, ok := planRetain(input(owned, obsOf(owned, &member{name: "demo-1", ordinal: 1, pvc: get()})))
	assert.False(t, ok, "done: nothing more to patch")
}

// A claim deleted since the plan is not an error.
func TestSetVolumeOwnerClaimGone(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1), retained)
	f := newActorFixture(t, pgc)
	obs := obsOf(pgc, testMember(pgc, 1, ownedBy(ownerRef(pgc))))
	assert.NoError(t, f.c.setVolumeOwner(f.ctx, pgc, obs, action{kind: actSetVolumeOwner, member: "demo-1"}))
}

func volumeTerminating(m *member) {
	now := metav1.Now()
	m.pvc.DeletionTimestamp = &now
}
