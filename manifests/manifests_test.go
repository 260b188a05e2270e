// Package manifests holds no code: its test checks that the install
// manifests agree with each other where kustomize cannot make them.
package manifests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

type kustomization struct {
	Namespace string   `json:"namespace"`
	Resources []string `json:"resources"`
	Patches   []struct {
		Patch string `json:"patch"`
	} `json:"patches"`
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, into), path)
}

// The bundle and `kubectl apply -k manifests/` install every manifest of
// the parts, and each part's own Kustomization (the bases of
// manifests/namespaced) lists the same files as the top-level one.
func TestPartsMatchTheTopLevelKustomization(t *testing.T) {
	var top kustomization
	readYAML(t, "Kustomization", &top)
	for _, part := range []string{"crd", "admission", "operator", "rbac"} {
		var want []string
		for _, r := range top.Resources {
			if f, ok := strings.CutPrefix(r, part+"/"); ok {
				want = append(want, f)
			}
		}
		var sub kustomization
		readYAML(t, filepath.Join(part, "Kustomization"), &sub)
		assert.Equal(t, want, sub.Resources, "%s/Kustomization lists what manifests/Kustomization lists under %s/", part, part)

		files, err := filepath.Glob(filepath.Join(part, "*.yaml"))
		require.NoError(t, err)
		for _, f := range files {
			assert.Contains(t, top.Resources, filepath.ToSlash(f), "manifests/Kustomization (and so the bundle) installs %s", f)
		}
	}
}

// clusterScoped are the resources a watched namespace's Role does not
// grant: nodes and volumes are cluster-scoped, node leases live in
// kube-node-lease. The operator runs without them in a namespaced install
// (cmd/postgres-operator/nodes.go, pkg/cluster/fence_kubelet.go).
var clusterScoped = []string{"nodes", "persistentvolumes", "leases"}

// A watched namespace's Role grants what the ClusterRole grants, no more,
// but for cluster-scoped resources.
func TestNamespacedRoleMatchesClusterRole(t *testing.T) {
	var cluster rbacv1.ClusterRole
	var role rbacv1.Role
	readYAML(t, "rbac/cluster_role.yaml", &cluster)
	readYAML(t, "namespaced/watched-namespace/role.yaml", &role)
	namespaced := slices.DeleteFunc(slices.Clone(cluster.Rules), func(r rbacv1.PolicyRule) bool {
		return slices.ContainsFunc(r.Resources, func(res string) bool { return slices.Contains(clusterScoped, res) })
	})
	require.Len(t, namespaced, len(cluster.Rules)-len(clusterScoped), "each cluster-scoped resource has a rule of its own")
	assert.Equal(t, namespaced, role.Rules)
}

// The namespaced overlay lists its namespaces twice (Roles and the
// --namespaces flag): the two lists agree, and each watch/<ns> directory
// places its Role in the namespace it is named after.
func TestNamespacedOverlayWatchesWhatItGrants(t *testing.T) {
	var k kustomization
	readYAML(t, "namespaced/kustomization.yaml", &k)
	var granted []string
	for _, r := range k.Resources {
		ns, ok := strings.CutPrefix(r, "watch/")
		if !ok {
			continue
		}
		granted = append(granted, ns)
		var w kustomization
		readYAML(t, filepath.Join("namespaced", r, "kustomization.yaml"), &w)
		assert.Equal(t, ns, w.Namespace, "namespaced/%s sets namespace %q", r, ns)
	}
	require.NotEmpty(t, granted)

	var flag []string
	for _, p := range k.Patches {
		if _, v, ok := strings.Cut(p.Patch, "--namespaces="); ok {
			flag = strings.Split(strings.Fields(v)[0], ",")
		}
	}
	slices.Sort(granted)
	slices.Sort(flag)
	assert.Equal(t, granted, flag, "the --namespaces patch names the watch/ directories")
}
