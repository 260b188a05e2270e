// Package chart holds no code: its tests check the Helm chart with helm
// itself, built from its Go module (hack/tools/helm) by hack/helm.sh. The
// chart lints, and renders the objects of manifests/ — the generated bundle
// for the default values, manifests/namespaced for a namespaced install —
// with only the differences README.md lists, so the two cannot drift.
package chart

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const (
	root        = "../.."
	helmScript  = root + "/hack/helm.sh"
	chartDir    = "." // this directory is the chart
	release     = "postgres-operator"
	releaseNS   = "postgres-operator" // manifests/' namespace
	watchedNS   = "databases"         // manifests/namespaced's
	bundle      = root + "/manifests/postgres-operator.yaml"
	overlay     = root + "/manifests/namespaced"
	generated   = root + "/manifests/crd"
	updateChart = "make generate"
)

// Inputs of the helm runs, which go test cannot see a subprocess read:
// reading them here makes them part of its cache key.
var helmInputs = []string{
	helmScript,
	root + "/hack/tools/helm/go.mod",
	root + "/hack/tools/helm/go.sum",
}

var (
	buildOnce sync.Once
	helmBin   string
	buildErr  error
)

// helm runs the helm hack/helm.sh built (once per test binary). A helm that
// cannot be built fails the test: nothing here skips.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	buildOnce.Do(func() {
		if buildErr = readInputs(); buildErr != nil {
			return
		}
		out, err := exec.Command(helmScript, "build").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%s build: %w\n%s", helmScript, err, out)
			return
		}
		bin := os.Getenv("HELM_TOOLS_BIN")
		if bin == "" {
			bin = root + "/bin/tools"
		}
		helmBin, buildErr = filepath.Abs(filepath.Join(bin, "helm"))
	})
	require.NoError(t, buildErr)
	cmd := exec.Command(helmBin, args...)
	// No user's repositories or plugins.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// readInputs reads what helm will: the chart and how helm is built.
func readInputs() error {
	for _, f := range helmInputs {
		if _, err := os.ReadFile(f); err != nil {
			return err
		}
	}
	return filepath.WalkDir(chartDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		_, err = os.ReadFile(path)
		return err
	})
}

// render is `helm template` of the chart as release "postgres-operator" in
// namespace postgres-operator, CRDs included, with more flags.
func render(t *testing.T, flags ...string) map[string]map[string]any {
	t.Helper()
	out, err := helm(t, append([]string{"template", release, chartDir, "--namespace", releaseNS, "--include-crds"}, flags...)...)
	require.NoError(t, err)
	objs := parse(t, "helm template", []byte(out))
	for _, o := range objs {
		dropHelmLabels(o)
	}
	return objs
}

func TestChartLints(t *testing.T) {
	for name, flags := range map[string][]string{
		"defaults":       nil,
		"namespaced":     {"--set", "rbac.namespaced=true", "--set", "watchNamespaces={a,b}"},
		"serviceMonitor": {"--set", "metrics.serviceMonitor.enabled=true"},
		"no metrics":     {"--set", "metrics.enabled=false"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := helm(t, append([]string{"lint", "--strict", chartDir}, flags...)...)
			require.NoError(t, err, out)
			assert.Contains(t, out, "1 chart(s) linted, 0 chart(s) failed")
		})
	}
}

// The default values render the bundle `kubectl apply -f manifests/`
// installs (CRDs, admission policy, RBAC, Deployment, metrics Service,
// PodDisruptionBudget), field for field.
func TestChartRendersTheManifests(t *testing.T) {
	data, err := os.ReadFile(bundle)
	require.NoError(t, err)
	want := withoutNamespaces(parse(t, bundle, data))
	assertSameObjects(t, want, render(t), "helm template with the default values vs "+bundle)
}

// rbac.namespaced renders what manifests/namespaced renders for the same
// namespaces: Roles there, no ClusterRole, and --namespaces.
func TestNamespacedChartRendersTheOverlay(t *testing.T) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), overlay)
	require.NoError(t, err)
	data, err := res.AsYaml()
	require.NoError(t, err)
	want := withoutNamespaces(parse(t, overlay, data))
	got := render(t, "--set", "rbac.namespaced=true", "--set", "watchNamespaces={"+watchedNS+"}")
	assertSameObjects(t, want, got, "helm template --set rbac.namespaced=true vs kustomize "+overlay)
}

// A namespaced install without namespaces would watch nothing: the chart
// refuses to render.
func TestNamespacedChartNeedsNamespaces(t *testing.T) {
	_, err := helm(t, "template", release, chartDir, "--set", "rbac.namespaced=true")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rbac.namespaced needs watchNamespaces")
}

// crds/ holds the generated CRDs as they are (make generate copies
// them): helm installs them before the templates, skips them when they
// exist (a cluster installed from manifests/), and keeps them on uninstall.
func TestChartCRDsAreTheGeneratedOnes(t *testing.T) {
	want, err := filepath.Glob(filepath.Join(generated, "*.yaml"))
	require.NoError(t, err)
	got, err := filepath.Glob("crds/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, want)
	names := func(paths []string) []string {
		var n []string
		for _, p := range paths {
			n = append(n, filepath.Base(p))
		}
		return n
	}
	require.Equal(t, names(want), names(got), "crds/ is stale: run %s", updateChart)
	for _, w := range want {
		a, err := os.ReadFile(w)
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join("crds", filepath.Base(w)))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "crds/%s differs from %s: run %s", filepath.Base(w), w, updateChart)
	}
}

// The values a user sets reach the objects: image, resources, more flags,
// and a release of another name names every object after itself, so that
// it never collides with the cluster-scoped objects of manifests/.
func TestChartValues(t *testing.T) {
	got := render(t, "--set", "image.repository=registry.example/pgo", "--set", "image.tag=1.2.3",
		"--set", "image.pullPolicy=Always", "--set", "resources.limits.memory=1Gi", "--set", "extraArgs={--workers=16}",
		"--set", "replicaCount=3")
	dep := got["Deployment postgres-operator/postgres-operator"]
	require.NotNil(t, dep)
	spec := dig(t, dep, "spec").(map[string]any)
	assert.EqualValues(t, 3, spec["replicas"])
	c := dig(t, dep, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
	assert.Equal(t, "registry.example/pgo:1.2.3", c["image"])
	assert.Equal(t, "Always", c["imagePullPolicy"])
	assert.Equal(t, "1Gi", dig(t, c, "resources", "limits", "memory"))
	assert.Equal(t, "64Mi", dig(t, c, "resources", "requests", "memory"), "the other defaults stay")
	args := c["args"].([]any)
	assert.Equal(t, "--workers=16", args[len(args)-1])

	out, err := helm(t, "template", "pgo", chartDir, "--namespace", "ops")
	require.NoError(t, err)
	for k, o := range parse(t, "helm template pgo", []byte(out)) {
		name := dig(t, o, "metadata", "name").(string)
		assert.True(t, strings.HasPrefix(name, "pgo-postgres-operator"), "%s is named after the release", k)
	}
}

// The ServiceMonitor is off by default; on, it scrapes the metrics Service's
// port with honorLabels, which manifests/monitoring's alerts need.
func TestServiceMonitor(t *testing.T) {
	for k := range render(t) {
		assert.NotContains(t, k, "ServiceMonitor", "no ServiceMonitor unless asked")
	}
	got := render(t, "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=kube-prometheus")
	sm := got["ServiceMonitor postgres-operator/postgres-operator"]
	require.NotNil(t, sm, "rendered: %v", keys(got))
	assert.Equal(t, "monitoring.coreos.com/v1", sm["apiVersion"])
	assert.Equal(t, "kube-prometheus", dig(t, sm, "metadata", "labels", "release"))
	svc := got["Service postgres-operator/postgres-operator-metrics"]
	require.NotNil(t, svc)
	svcLabels := dig(t, svc, "metadata", "labels").(map[string]any)
	for l, v := range dig(t, sm, "spec", "selector", "matchLabels").(map[string]any) {
		assert.Equal(t, v, svcLabels[l], "the ServiceMonitor selects the metrics Service by %s", l)
	}
	ep := dig(t, sm, "spec", "endpoints").([]any)[0].(map[string]any)
	assert.Equal(t, "metrics", ep["port"])
	assert.Equal(t, true, ep["honorLabels"])
	assert.Equal(t, "metrics", dig(t, svc, "spec", "ports").([]any)[0].(map[string]any)["name"])
}
