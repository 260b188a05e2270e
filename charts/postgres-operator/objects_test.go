package chart

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// Parsing and comparing rendered objects: as parsed YAML, not text, and
// with a failure that names the fields that differ.

// helmOnlyLabels are the labels the chart adds to what manifests/ has:
// helm's own on every object, and the release in selectors too, so that
// two releases in one namespace select their own pods. The comparison
// drops them wherever they are.
var helmOnlyLabels = []string{
	"helm.sh/chart",
	"app.kubernetes.io/managed-by",
	"app.kubernetes.io/version",
	"app.kubernetes.io/instance",
}

// parse reads YAML documents into objects keyed "Kind namespace/name".
func parse(t *testing.T, what string, data []byte) map[string]map[string]any {
	t.Helper()
	objs := map[string]map[string]any{}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if err == io.EOF {
			return objs
		}
		require.NoError(t, err, what)
		if len(o) == 0 {
			continue // an empty document
		}
		k := key(o)
		require.NotContains(t, objs, k, "%s: %s twice", what, k)
		objs[k] = o
	}
}

func key(o map[string]any) string {
	md, _ := o["metadata"].(map[string]any)
	return fmt.Sprintf("%v %v/%v", o["kind"], md["namespace"], md["name"])
}

// dropHelmLabels removes helmOnlyLabels from every map in the object.
func dropHelmLabels(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, l := range helmOnlyLabels {
			delete(v, l)
		}
		for _, e := range v {
			dropHelmLabels(e)
		}
	case []any:
		for _, e := range v {
			dropHelmLabels(e)
		}
	}
}

// withoutNamespaces drops the Namespace objects: helm installs into the
// release's namespace and creates none (helm install --create-namespace).
func withoutNamespaces(objs map[string]map[string]any) map[string]map[string]any {
	for k, o := range objs {
		if o["kind"] == "Namespace" {
			delete(objs, k)
		}
	}
	return objs
}

// assertSameObjects compares object by object, and names the fields that
// differ (a whole CRD in a failure message would hide them).
func assertSameObjects(t *testing.T, want, got map[string]map[string]any, what string) {
	t.Helper()
	assert.ElementsMatch(t, keys(want), keys(got), "%s: the same objects", what)
	for k, w := range want {
		if g, ok := got[k]; ok {
			if d := differences(w, g, ""); len(d) > 0 {
				t.Errorf("%s: %s differs (path: want, got):\n%s", what, k, strings.Join(d, "\n"))
			}
		}
	}
}

// differences lists the paths where two parsed YAML values differ, with
// both values (at most maxDifferences of them).
func differences(want, got any, path string) []string {
	const maxDifferences = 20
	var d []string
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		for _, k := range sortedKeys(w, g) {
			d = append(d, differences(w[k], g[k], path+"."+k)...)
		}
		return d[:min(len(d), maxDifferences)]
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			break
		}
		for i := range w {
			d = append(d, differences(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return d[:min(len(d), maxDifferences)]
	}
	if reflect.DeepEqual(want, got) {
		return nil
	}
	w, g := short(want), short(got)
	if ws, ok := want.(string); ok {
		if gs, ok := got.(string); ok {
			w, g = fromFirstDifference(ws, gs)
		}
	}
	return []string{fmt.Sprintf("%s: %s, %s", path, w, g)}
}

// fromFirstDifference shows two long strings from a little before where
// they part.
func fromFirstDifference(a, b string) (string, string) {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	start := max(i-40, 0)
	cut := func(s string) string {
		out := s[start:min(len(s), start+160)]
		if start > 0 {
			out = "…" + out
		}
		return fmt.Sprintf("%q", out)
	}
	return cut(a), cut(b)
}

func sortedKeys(a, b map[string]any) []string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

func short(v any) string {
	if v == nil {
		return "(absent)"
	}
	s := fmt.Sprintf("%#v", v)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func keys(objs map[string]map[string]any) []string {
	var ks []string
	for k := range objs {
		ks = append(ks, k)
	}
	return ks
}

// dig follows map keys.
func dig(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%s: not a map", p)
		v = m[p]
	}
	return v
}
