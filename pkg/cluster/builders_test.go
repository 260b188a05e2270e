package cluster

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func TestBuildPod(t *testing.T) {
	pgc := testCluster(3, func(p *v1alpha1.PostgresCluster) {
		p.Spec.Pod.Labels = map[string]string{"team": "a"}
		p.Spec.Pod.Annotations = map[string]string{"note": "x"}
		p.Spec.Pod.NodeSelector = map[string]string{"disk": "ssd"}
		p.Spec.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}
		p.Spec.Parameters = map[string]string{"work_mem": "8MB"}
	})
	tests := []struct {
		name      string
		m         memberPod
		wantEnv   map[string]string
		noEnv     []string
		wantLabel map[string]string
	}{
		{
			name:      "seed",
			m:         memberPod{Name: "demo-1", Role: RolePrimary, Bootstrap: BootstrapInitdb, Image: "postgres:15"},
			wantEnv:   map[string]string{"BOOTSTRAP": "initdb", "SLOT_NAME": "demo_1", "PRIMARY_HOST": "demo-rw", "PGDATA": pgdataPath},
			wantLabel: map[string]string{RoleLabel: RolePrimary, ClusterLabel: "demo", MemberLabel: "demo-1", "team": "a"},
		},
		{
			name:      "replica",
			m:         memberPod{Name: "demo-2", Role: RoleReplica, Bootstrap: BootstrapClone, Image: "postgres:15"},
			wantEnv:   map[string]string{"BOOTSTRAP": "clone", "SLOT_NAME": "demo_2"},
			noEnv:     []string{"BOOTSTRAP_PARAMETERS"},
			wantLabel: map[string]string{RoleLabel: RoleReplica},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := buildPod(pgc, tt.m)
			assert.Equal(t, tt.m.Name, pod.Name)
			assert.Equal(t, "ns", pod.Namespace)
			for k, v := range tt.wantLabel {
				assert.Equal(t, v, pod.Labels[k], "label %s", k)
			}
			assert.Equal(t, "x", pod.Annotations["note"])
			assert.Equal(t, tt.m.Bootstrap, pod.Annotations[BootstrapAnnotation])
			assert.Equal(t, podSpecHash(pgc, tt.m.Image), pod.Annotations[SpecHashAnnotation])

			require.Len(t, pod.OwnerReferences, 1)
			assert.Equal(t, "PostgresCluster", pod.OwnerReferences[0].Kind)
			assert.True(t, *pod.OwnerReferences[0].Controller)

			sc := pod.Spec.SecurityContext
			assert.Equal(t, int64(999), *sc.RunAsUser)
			assert.Equal(t, int64(999), *sc.FSGroup)
			assert.True(t, *sc.RunAsNonRoot)
			assert.False(t, *pod.Spec.AutomountServiceAccountToken)
			assert.Equal(t, map[string]string{"disk": "ssd"}, pod.Spec.NodeSelector)

			require.Len(t, pod.Spec.Containers, 1)
			c := pod.Spec.Containers[0]
			assert.Equal(t, tt.m.Image, c.Image)
			assert.Equal(t, []string{"/bin/sh", "-c", memberScript}, c.Command)
			assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
			assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
			assert.Equal(t, resource.MustParse("1Gi"), c.Resources.Limits[corev1.ResourceMemory])
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			for k, v := range tt.wantEnv {
				assert.Equal(t, v, env[k], "env %s", k)
			}
			for _, k := range tt.noEnv {
				assert.NotContains(t, env, k)
			}
			// Passwords only come from mounted Secrets, never the pod spec.
			for _, e := range c.Env {
				assert.NotContains(t, strings.ToLower(e.Name), "password")
			}
			assertVolume(t, pod, "data", func(v corev1.Volume) bool { return v.PersistentVolumeClaim.ClaimName == tt.m.Name+"-data" })
			assertVolume(t, pod, "credentials", func(v corev1.Volume) bool {
				// The operator's record, at the paths member.sh reads.
				return v.Secret.SecretName == "demo-operator-credentials" && len(v.Secret.Items) == 2 &&
					v.Secret.Items[0].Path == "superuser/password" && v.Secret.Items[1].Path == "replication/password"
			})
		})
	}
}

func assertVolume(t *testing.T, pod *corev1.Pod, name string, ok func(corev1.Volume) bool) {
	t.Helper()
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			assert.True(t, ok(v), "volume %s", name)
			return
		}
	}
	t.Errorf("volume %s missing", name)
}

func TestSeedGetsBootstrapParameters(t *testing.T) {
	pgc := testCluster(1, func(p *v1alpha1.PostgresCluster) {
		p.Spec.Parameters = map[string]string{"max_connections": "200", "search_path": "'$user'"}
	})
	pod := buildPod(pgc, memberPod{Name: "demo-1", Role: RolePrimary, Bootstrap: BootstrapInitdb, Image: "x"})
	var params string
	for _, e := range pod.Spec.Containers[0].Env {
		if e.Name == "BOOTSTRAP_PARAMETERS" {
			params = e.Value
		}
	}
	assert.Contains(t, params, "max_connections = '200'\n")
	assert.Contains(t, params, "search_path = '''$user'''\n", "quotes are doubled")
	assert.Contains(t, params, "wal_retrieve_retry_interval = '250ms'\n", "defaults included")
}

func TestPodSpecHashChangesOnlyForRollingFields(t *testing.T) {
	base := testCluster(1)
	h := podSpecHash(base, "postgres:15")
	assert.Equal(t, h, podSpecHash(testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Size = 5 }), "postgres:15"))
	assert.Equal(t, h, podSpecHash(testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Parameters = map[string]string{"a": "b"} }), "postgres:15"))
	assert.NotEqual(t, h, podSpecHash(base, "postgres:15.9"))
	assert.NotEqual(t, h, podSpecHash(testCluster(1, func(p *v1alpha1.PostgresCluster) {
		p.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	}), "postgres:15"))
	// The user's spread rolls the members, turning the default off too; the
	// default itself is not hashed (TestUpgradeRollsNoMember).
	spreadOff := podSpecHash(testCluster(1, withSpread()), "postgres:15")
	assert.NotEqual(t, h, spreadOff)
	assert.NotEqual(t, spreadOff, podSpecHash(testCluster(1, withSpread(zoneSpread)), "postgres:15"))
}

// TestUpgradeRollsNoMember pins the hash of a cluster that sets none of
// the fields added since: an operator upgrade that changed it would restart
// every member of every cluster at once.
func TestUpgradeRollsNoMember(t *testing.T) {
	assert.Equal(t, "cad77db1f426c1e4", podSpecHash(testCluster(1), "postgres:15"))
}

var zoneSpread = corev1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone,
	WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: memberSelector("demo")}

// withSpread sets spec.pod.topologySpreadConstraints, to an empty list
// when called without constraints.
func withSpread(tsc ...corev1.TopologySpreadConstraint) func(*v1alpha1.PostgresCluster) {
	return func(p *v1alpha1.PostgresCluster) {
		p.Spec.Pod.TopologySpreadConstraints = append([]corev1.TopologySpreadConstraint{}, tsc...)
	}
}

func TestMembersSpreadOverNodes(t *testing.T) {
	m := memberPod{Name: "demo-1", Role: RolePrimary, Bootstrap: BootstrapInitdb, Image: "postgres:15"}
	affinity := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{}}

	byDefault := buildPod(testCluster(3, func(p *v1alpha1.PostgresCluster) { p.Spec.Pod.Affinity = affinity }), m)
	require.Len(t, byDefault.Spec.TopologySpreadConstraints, 1)
	tsc := byDefault.Spec.TopologySpreadConstraints[0]
	assert.Equal(t, corev1.LabelHostname, tsc.TopologyKey)
	assert.Equal(t, corev1.ScheduleAnyway, tsc.WhenUnsatisfiable, "a preference: members still schedule on fewer nodes")
	assert.Equal(t, int32(1), tsc.MaxSkew)
	sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
	require.NoError(t, err)
	assert.True(t, sel.Matches(labels.Set(byDefault.Labels)), "selects the member itself")
	assert.False(t, sel.Matches(labels.Set{ClusterLabel: "demo"}), "not a pod of the cluster that is no member")
	assert.False(t, sel.Matches(labels.Set{ClusterLabel: "other", MemberLabel: "other-1"}), "not another cluster's member")
	assert.Same(t, affinity, byDefault.Spec.Affinity, "the user's affinity is kept alongside")

	assert.Equal(t, []corev1.TopologySpreadConstraint{zoneSpread}, buildPod(testCluster(3, withSpread(zoneSpread)), m).Spec.TopologySpreadConstraints,
		"the user's constraints replace the default")
	assert.Empty(t, buildPod(testCluster(3, withSpread()), m).Spec.TopologySpreadConstraints, "an empty list turns it off")
}

func TestBuildPDBs(t *testing.T) {
	pdbs := buildPDBs(testCluster(3))
	require.Len(t, pdbs, 2)
	replicas, primary := pdbs[0], pdbs[1]
	assert.Equal(t, "demo", replicas.Name)
	assert.Equal(t, "demo-primary", primary.Name)
	for _, pdb := range pdbs {
		assert.Equal(t, "ns", pdb.Namespace)
		assert.Equal(t, "demo", pdb.Labels[ClusterLabel], "seen by the operator's label-filtered informer")
		require.Len(t, pdb.OwnerReferences, 1, "deleted with the cluster")
		assert.Nil(t, pdb.Spec.MaxUnavailable, "counted against spec.size: the whole cluster, not the budget's part")
		assert.Equal(t, policyv1.AlwaysAllow, *pdb.Spec.UnhealthyPodEvictionPolicy)
		assert.True(t, pdbAsBuilt(pdb, pdb.DeepCopy()))
	}
	assert.Equal(t, intstr.FromInt32(1), *replicas.Spec.MinAvailable, "of two replicas, one at a time")
	assert.Equal(t, intstr.FromInt32(1), *primary.Spec.MinAvailable, "no eviction of the primary")

	sel, err := metav1.LabelSelectorAsSelector(replicas.Spec.Selector)
	require.NoError(t, err)
	member := labels.Set{ClusterLabel: "demo", MemberLabel: "demo-2"}
	assert.False(t, sel.Matches(member), "a member with no role (fenced) is in neither")
	member[RoleLabel] = RoleReplica
	assert.True(t, sel.Matches(member))
	primarySel, err := metav1.LabelSelectorAsSelector(primary.Spec.Selector)
	require.NoError(t, err)
	assert.False(t, primarySel.Matches(member), "the budgets are disjoint: a pod in two cannot be evicted at all")
	member[RoleLabel] = RolePrimary
	assert.True(t, primarySel.Matches(member))

	one := buildPDBs(testCluster(1))
	assert.Equal(t, intstr.FromInt32(0), *one[1].Spec.MinAvailable, "a cluster of one may be drained")
	two := buildPDBs(testCluster(2))
	assert.Equal(t, intstr.FromInt32(0), *two[0].Spec.MinAvailable, "its one replica may go")
	assert.Equal(t, intstr.FromInt32(1), *two[1].Spec.MinAvailable)
	assert.False(t, pdbAsBuilt(pdbs[0], buildPDBs(testCluster(5))[0]), "a resize rewrites the replicas' budget")
}

func TestBuildPVC(t *testing.T) {
	pgc := testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Storage.StorageClassName = ptr.To("fast") })
	pvc := buildPVC(pgc, "demo-1")
	assert.Equal(t, "demo-1-data", pvc.Name)
	assert.Equal(t, "fast", *pvc.Spec.StorageClassName)
	assert.Equal(t, resource.MustParse("1Gi"), pvc.Spec.Resources.Requests[corev1.ResourceStorage])
	assert.Equal(t, "demo-1", pvc.Labels[MemberLabel])
	require.Len(t, pvc.OwnerReferences, 1, "deleted with the cluster by default")

	retained := testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Storage.RetainOnDelete = true })
	assert.Empty(t, buildPVC(retained, "demo-1").OwnerReferences, "retained volumes outlive the cluster")
}

func TestBuildServices(t *testing.T) {
	svcs := buildServices(testCluster(1))
	require.Len(t, svcs, 2)
	assert.Equal(t, "demo-rw", svcs[0].Name)
	assert.Equal(t, map[string]string{ClusterLabel: "demo", RoleLabel: RolePrimary}, svcs[0].Spec.Selector)
	assert.True(t, svcs[0].Spec.PublishNotReadyAddresses, "-rw follows the label, not readiness")
	assert.Equal(t, "demo-ro", svcs[1].Name)
	assert.Equal(t, RoleReplica, svcs[1].Spec.Selector[RoleLabel])
	assert.False(t, svcs[1].Spec.PublishNotReadyAddresses)
}

func TestSecrets(t *testing.T) {
	pw, err := newPassword()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(pw), 43, "32 random bytes")
	assert.NotContains(t, pw, ":")
	assert.NotContains(t, pw, `\`)
	other, _ := newPassword()
	assert.NotEqual(t, pw, other)

	s := buildSuperuserSecret(testCluster(1), pw)
	assert.Equal(t, "demo-superuser", s.Name)
	assert.Equal(t, pw, string(s.Data["password"]))
	assert.Equal(t, "demo-rw.ns.svc", string(s.Data["host"]))
	assert.Equal(t, "postgresql://postgres:"+pw+"@demo-rw.ns.svc:5432/postgres?sslmode=require", string(s.Data["uri"]))
	assert.Equal(t, "require", string(s.Data["sslmode"]))
	assert.Equal(t, "jdbc:postgresql://demo-rw.ns.svc:5432/postgres?password="+pw+"&sslmode=require&user=postgres", string(s.Data["jdbc-uri"]))
	assert.Equal(t, "replicator", string(buildReplicationSecret(testCluster(1), pw).Data["username"]))
}

func TestImageTemplate(t *testing.T) {
	cfg := &Config{}
	assert.Equal(t, "postgres:15", cfg.imageFor(testCluster(1)))
	cfg.ImageTemplate = "localhost/postgres:{version}"
	assert.Equal(t, "localhost/postgres:15", cfg.imageFor(testCluster(1)))
	assert.Equal(t, "mine:1", cfg.imageFor(testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Image = "mine:1" })))
}
