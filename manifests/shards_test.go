package manifests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const (
	shardLabel     = "postgres-operator.dev/shard"
	imageArg       = 2 // the argument hack/local-overlay replaces
	defaultOp      = "postgres-operator"
	shardB         = "postgres-operator-shard-b"
	shardBSelector = "--cluster-selector=" + shardLabel + "=b"
	shardBLease    = "--leader-elect-lease-name=" + shardB
	notSharded     = "--cluster-selector=!" + shardLabel
)

// rendered is a kustomization's output by "Kind/name".
type rendered map[string][]byte

func render(t *testing.T, dir string) rendered {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	out := rendered{}
	for _, r := range res.Resources() {
		data, err := r.AsYAML()
		require.NoError(t, err)
		out[r.GetKind()+"/"+r.GetName()] = data
	}
	return out
}

func (r rendered) get(t *testing.T, id string, into any) {
	t.Helper()
	data, ok := r[id]
	require.True(t, ok, "%s is rendered", id)
	require.NoError(t, yaml.Unmarshal(data, into), id)
}

func (r rendered) deployment(t *testing.T, name string) *appsv1.Deployment {
	var d appsv1.Deployment
	r.get(t, "Deployment/"+name, &d)
	return &d
}

func args(d *appsv1.Deployment) []string { return d.Spec.Template.Spec.Containers[0].Args }

// argValue is the value of --name=value among args, "" if absent.
func argValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// Shard b alone, next to an existing install: a Deployment, its metrics
// Service, disruption budget and Lease rights; the namespace, the
// ServiceAccount and the ClusterRole are the default install's.
func TestShardBOverlay(t *testing.T) {
	out := render(t, "shards/shard-b")
	var ids []string
	for id := range out {
		ids = append(ids, id)
	}
	assert.ElementsMatch(t, []string{"Deployment/" + shardB, "Service/postgres-operator-metrics-shard-b",
		"PodDisruptionBudget/" + shardB, "Role/postgres-operator-leader-election-shard-b",
		"RoleBinding/postgres-operator-leader-election-shard-b"}, ids)

	d := out.deployment(t, shardB)
	a := args(d)
	assert.Equal(t, []string{shardBSelector, shardBLease}, a[len(a)-2:])
	assert.True(t, strings.HasPrefix(a[imageArg], "--postgres-image-template="), "args/%d is still the image template: %v", imageArg, a)
	assert.Equal(t, defaultOp, d.Spec.Template.Spec.ServiceAccountName)

	// Its pods are its own Deployment's, budget's and Service's, and not
	// the default operator's.
	pods := labels.Set(d.Spec.Template.Labels)
	def := render(t, ".").deployment(t, defaultOp)
	assert.False(t, selects(t, def.Spec.Selector.MatchLabels, pods), "the default Deployment selects shard b's pods")
	assert.False(t, selects(t, d.Spec.Selector.MatchLabels, labels.Set(def.Spec.Template.Labels)), "shard b selects the default pods")
	assert.True(t, selects(t, d.Spec.Selector.MatchLabels, pods))
	var pdb policyv1.PodDisruptionBudget
	out.get(t, "PodDisruptionBudget/"+shardB, &pdb)
	assert.True(t, selects(t, pdb.Spec.Selector.MatchLabels, pods))
	var svc corev1.Service
	out.get(t, "Service/postgres-operator-metrics-shard-b", &svc)
	assert.True(t, selects(t, svc.Spec.Selector, pods))

	// Rights on its own Lease, for its own ServiceAccount.
	var role rbacv1.Role
	var binding rbacv1.RoleBinding
	out.get(t, "Role/postgres-operator-leader-election-shard-b", &role)
	out.get(t, "RoleBinding/postgres-operator-leader-election-shard-b", &binding)
	assert.Contains(t, role.Rules[1].ResourceNames, argValue(a, "leader-elect-lease-name"))
	assert.Equal(t, role.Name, binding.RoleRef.Name)
	assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: defaultOp, Namespace: "postgres-operator"}}, binding.Subjects)
}

func selects(t *testing.T, matchLabels map[string]string, pod labels.Set) bool {
	t.Helper()
	require.NotEmpty(t, matchLabels)
	return labels.SelectorFromSet(matchLabels).Matches(pod)
}

// The two shards side by side: every object of the default install, shard
// b's, and the default operator limited to the clusters no shard claims,
// so each cluster has exactly one operator.
func TestShardsOverlay(t *testing.T) {
	base, both := render(t, "."), render(t, "shards")
	for id := range base {
		assert.Contains(t, both, id)
	}
	for id := range render(t, "shards/shard-b") {
		assert.Contains(t, both, id)
	}

	def := both.deployment(t, defaultOp)
	baseArgs := args(base.deployment(t, defaultOp))
	assert.Empty(t, argValue(baseArgs, "cluster-selector"), "the default install manages every cluster")
	assert.Equal(t, append(baseArgs, notSharded), args(def), "appended: args/%d stays the image template", imageArg)

	var selectors []labels.Selector
	for _, d := range []*appsv1.Deployment{def, both.deployment(t, shardB)} {
		s, err := labels.Parse(argValue(args(d), "cluster-selector"))
		require.NoError(t, err)
		selectors = append(selectors, s)
	}
	for _, cluster := range []labels.Set{{}, {shardLabel: "b"}, {"team": "x"}, {"team": "x", shardLabel: "b"}} {
		n := 0
		for _, s := range selectors {
			if s.Matches(cluster) {
				n++
			}
		}
		assert.Equal(t, 1, n, "operators of a cluster labelled %v", cluster)
	}
	leases := []string{argValue(args(def), "leader-elect-lease-name"), argValue(args(both.deployment(t, shardB)), "leader-elect-lease-name")}
	assert.Equal(t, []string{"", shardB}, leases, "the default Lease (postgres-operator) and shard b's")
}

// The local cluster's overlays keep the local image template in args/2,
// for the default operator and for shard b.
func TestLocalOverlays(t *testing.T) {
	for dir, name := range map[string]string{"../hack/local-overlay": defaultOp, "../hack/local-overlay-shard-b": shardB} {
		a := args(render(t, dir).deployment(t, name))
		assert.Equal(t, "--postgres-image-template=localhost/postgres:{version}", a[imageArg], dir)
		if name == shardB {
			assert.Equal(t, []string{shardBSelector, shardBLease}, a[len(a)-2:], dir)
		}
	}
}
