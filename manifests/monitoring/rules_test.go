// Package monitoring holds no code: its tests check the alerting rules and
// the Grafana dashboard of manifests/monitoring with Prometheus' own code
// (promtool and its PromQL parser, which hack/check-monitoring.sh builds
// from the module hack/tools/promtool) and against the metrics pkg/metrics
// serves.
package monitoring

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/yaml"
	clientmetrics "k8s.io/client-go/tools/metrics"

	"postgres-operator.dev/postgres-operator/pkg/metrics"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// checkScript builds promtool and promqlnames and runs them. Any failure,
// a tool that cannot be built included, fails the tests: nothing here skips.
const checkScript = "../../hack/check-monitoring.sh"

// scriptInputs are the files hack/check-monitoring.sh reads besides the
// ones the tests read themselves: reading them here makes them part of
// go test's cache key, so a change to any of them runs the tests again.
var scriptInputs = []string{
	checkScript,
	"rules_test.yml",
	"../../hack/tools/promtool/go.mod",
	"../../hack/tools/promtool/go.sum",
	"../../hack/tools/promtool/promqlnames/main.go",
}

type ruleGroup struct {
	Name  string `json:"name"`
	Rules []rule `json:"rules"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, into), path)
}

func rulesFile(t *testing.T) []ruleGroup {
	t.Helper()
	var f struct {
		Groups []ruleGroup `json:"groups"`
	}
	readYAML(t, "rules.yaml", &f)
	require.NotEmpty(t, f.Groups)
	return f.Groups
}

// prometheus-rule.yaml is rules.yaml for the Prometheus Operator: the same
// groups, field for field.
func TestPrometheusRuleHoldsTheRulesFile(t *testing.T) {
	var file struct {
		Groups []map[string]any `json:"groups"`
	}
	readYAML(t, "rules.yaml", &file)
	var pr struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Spec struct {
			Groups []map[string]any `json:"groups"`
		} `json:"spec"`
	}
	readYAML(t, "prometheus-rule.yaml", &pr)
	assert.Equal(t, "monitoring.coreos.com/v1", pr.APIVersion)
	assert.Equal(t, "PrometheusRule", pr.Kind)
	assert.NotEmpty(t, pr.Metadata.Name)
	assert.NotEmpty(t, pr.Metadata.Namespace)

	require.Len(t, pr.Spec.Groups, len(file.Groups), "prometheus-rule.yaml has the groups of rules.yaml")
	for i, want := range file.Groups {
		got := pr.Spec.Groups[i]
		wantRules, _ := want["rules"].([]any)
		gotRules, _ := got["rules"].([]any)
		assert.Equal(t, withoutRules(want), withoutRules(got), "group %d", i)
		require.Len(t, gotRules, len(wantRules), "group %v has the rules of rules.yaml", want["name"])
		for j := range wantRules {
			name := wantRules[j].(map[string]any)["alert"]
			assert.Equal(t, wantRules[j], gotRules[j], "group %v, rule %d (%v): as in rules.yaml", want["name"], j, name)
		}
	}
}

func withoutRules(group map[string]any) map[string]any {
	g := maps.Clone(group)
	delete(g, "rules")
	return g
}

// Every alert has a severity, and a summary, a description and a runbook
// that tell whoever is paged which cluster (or member) it is and where to
// read on.
func TestAlertsSayWhatAndWhere(t *testing.T) {
	anchors := readmeAnchors(t)
	byClause := regexp.MustCompile(`by \(([^)]*)\)`)
	seen := map[string]bool{}
	for _, g := range rulesFile(t) {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s has only alerting rules", g.Name)
			assert.False(t, seen[r.Alert], "%s is defined once", r.Alert)
			seen[r.Alert] = true
			assert.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], r.Alert)
			for _, a := range []string{"summary", "description", "runbook"} {
				assert.NotEmpty(t, r.Annotations[a], "%s has a %s", r.Alert, a)
			}
			// The labels the alert is by are named in its description.
			if m := byClause.FindStringSubmatch(r.Expr); m != nil {
				for l := range strings.SplitSeq(m[1], ",") {
					l = strings.TrimSpace(l)
					if slices.Contains([]string{"namespace", "cluster", "member"}, l) {
						assert.Contains(t, r.Annotations["description"], "{{ $labels."+l+" }}", "%s names its %s", r.Alert, l)
					}
				}
			}
			ref, _, _ := strings.Cut(r.Annotations["runbook"], " ")
			anchor, ok := strings.CutPrefix(ref, "README.md#")
			if assert.True(t, ok, "%s's runbook points into README.md", r.Alert) {
				assert.Contains(t, anchors, anchor, "%s's runbook names a README section", r.Alert)
			}
		}
	}
}

// readmeAnchors are the anchors GitHub gives README.md's headings.
func readmeAnchors(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	drop := regexp.MustCompile(`[^a-z0-9 -]`)
	var anchors []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " "); ok && strings.HasPrefix(line, "#") {
			anchors = append(anchors, strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(title), ""), " ", "-"))
		}
	}
	return anchors
}

// promtool check rules accepts rules.yaml, and promtool test rules runs
// rules_test.yml: each alert fires when it should, after its `for`, with
// its annotations, and not when it should not.
func TestRulesWithPromtool(t *testing.T) {
	for _, f := range scriptInputs {
		_, err := os.ReadFile(f)
		require.NoError(t, err)
	}
	out, err := exec.CommandContext(t.Context(), checkScript).CombinedOutput()
	require.NoError(t, err, "%s:\n%s", checkScript, out)
	t.Logf("%s", out)
}

// rules_test.yml has a case, at least, for every alert of rules.yaml.
func TestEveryAlertHasAPromtoolTest(t *testing.T) {
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	readYAML(t, "rules_test.yml", &tests)
	fires := map[string]bool{}
	for _, tg := range tests.Tests {
		for _, a := range tg.AlertRuleTest {
			fires[a.Alertname] = fires[a.Alertname] || len(a.ExpAlerts) > 0
		}
	}
	for _, g := range rulesFile(t) {
		for _, r := range g.Rules {
			assert.True(t, fires[r.Alert], "rules_test.yml has %s fire", r.Alert)
		}
	}
}

// The dashboard is one Grafana can import: its data source a variable,
// namespace and cluster variables from the operator's series, and every
// panel's queries on that data source.
func TestDashboardShape(t *testing.T) {
	d := dashboard(t)
	assert.Equal(t, 39, d.SchemaVersion)
	assert.NotEmpty(t, d.UID)
	assert.NotEmpty(t, d.Title)

	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	assert.Equal(t, "datasource", vars["datasource"].Type)
	var plugin string
	require.NoError(t, json.Unmarshal(vars["datasource"].Query, &plugin))
	assert.Equal(t, "prometheus", plugin)
	for _, name := range []string{"job", "namespace", "cluster"} {
		v := vars[name]
		assert.Equal(t, "query", v.Type, name)
		assert.Equal(t, "${datasource}", v.Datasource.UID, name)
		var q struct {
			Query string `json:"query"`
		}
		require.NoError(t, json.Unmarshal(v.Query, &q), name)
		assert.Equal(t, v.Definition, q.Query, "variable %s: its definition is its query", name)
	}
	assert.Regexp(t, `^label_values\(postgres_operator_member_up, namespace\)$`, vars["namespace"].Definition)
	assert.Regexp(t, `^label_values\(postgres_operator_member_up\{namespace=~"\$namespace"\}, cluster\)$`, vars["cluster"].Definition)

	ids := map[int]bool{}
	for _, p := range d.allPanels() {
		assert.False(t, ids[p.ID], "panel id %d is unique", p.ID)
		ids[p.ID] = true
		assert.True(t, p.GridPos.W > 0 && p.GridPos.X+p.GridPos.W <= 24, "%q fits the grid", p.Title)
		if p.Type == "row" {
			continue
		}
		assert.Equal(t, "${datasource}", p.Datasource.UID, p.Title)
		assert.NotEmpty(t, p.Description, p.Title)
		require.NotEmpty(t, p.Targets, p.Title)
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			assert.Equal(t, "${datasource}", tg.Datasource.UID, p.Title)
			assert.False(t, refs[tg.RefID], "%q: refId %s is unique", p.Title, tg.RefID)
			refs[tg.RefID] = true
			assert.NotEmpty(t, tg.Expr, p.Title)
			// Each query follows the dashboard's selection.
			assert.True(t, strings.Contains(tg.Expr, `namespace=~"$namespace", cluster=~"$cluster"`) ||
				strings.Contains(tg.Expr, `job=~"$job"`), "%q: %s filters by the variables", p.Title, tg.Expr)
		}
	}
}

// Every expression, the rules' and the dashboard's, parses with
// Prometheus' parser and selects only metrics pkg/metrics serves (and
// Prometheus' own up, in the rules).
func TestExpressionsSelectServedMetrics(t *testing.T) {
	served := servedMetrics(t)
	want := map[string][]string{} // expression → where it is
	for _, g := range rulesFile(t) {
		for _, r := range g.Rules {
			want[r.Expr] = append(want[r.Expr], "rules.yaml "+r.Alert)
		}
	}
	d := dashboard(t)
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			e := grafanaVariables(tg.Expr)
			want[e] = append(want[e], "grafana-dashboard.json "+p.Title)
		}
	}
	labelValues := regexp.MustCompile(`^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)[{,]`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if assert.NotNil(t, m, "variable %s is a label_values() query", v.Name) {
			assert.True(t, served[m[1]], "variable %s: pkg/metrics serves %s", v.Name, m[1])
		}
	}

	exprs := make([]string, 0, len(want))
	for e := range want {
		exprs = append(exprs, e)
	}
	slices.Sort(exprs)
	in, err := json.Marshal(exprs)
	require.NoError(t, err)
	cmd := exec.CommandContext(t.Context(), checkScript, "promql-names")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s promql-names:\n%s", checkScript, stderr.String())
	var parsed map[string]struct {
		Metrics []string `json:"metrics"`
		Error   string   `json:"error"`
	}
	require.NoError(t, json.Unmarshal(out, &parsed))

	for _, e := range exprs {
		got, ok := parsed[e]
		if !assert.True(t, ok, "%v: promqlnames answered", want[e]) ||
			!assert.Empty(t, got.Error, "%v: %s", want[e], e) {
			continue
		}
		assert.NotEmpty(t, got.Metrics, "%v selects a metric", want[e])
		for _, n := range got.Metrics {
			ok := served[n] || n == "up" && strings.HasPrefix(want[e][0], "rules.yaml")
			assert.True(t, ok, "%v: pkg/metrics serves no %s (in %s)", want[e], n, e)
		}
	}
}

// grafanaVariables replaces Grafana's variables with what Grafana puts
// there: durations for $__rate_interval and the like, a value for ours.
func grafanaVariables(expr string) string {
	return regexp.MustCompile(`\$\{?(\w+)\}?`).ReplaceAllStringFunc(expr, func(v string) string {
		if strings.HasPrefix(strings.TrimLeft(v, "${"), "__") {
			return "5m"
		}
		return "x"
	})
}

// servedMetrics are the names Prometheus stores for what pkg/metrics
// serves, gathered from its registry after every kind of observation (a
// vector has no series, and so no name, before its first).
func servedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	m.RegisterClientGo()
	ctx := t.Context()
	clientmetrics.RequestResult.Increment(ctx, "200", "GET", "api")
	clientmetrics.RequestLatency.Observe(ctx, "GET", url.URL{Host: "api"}, time.Second)
	q := m.WorkqueueProvider()
	q.NewDepthMetric("q").Inc()
	q.NewAddsMetric("q").Inc()
	q.NewLatencyMetric("q").Observe(1)
	q.NewWorkDurationMetric("q").Observe(1)
	q.NewUnfinishedWorkSecondsMetric("q").Set(1)
	q.NewLongestRunningProcessorSecondsMetric("q").Set(1)
	q.NewRetriesMetric("q").Inc()
	m.PassDone("ok", time.Second)
	m.ActionApplied("Promote")
	m.FailoverDone("ns", "c", time.Second)
	m.SwitchoverDone("ns", "c", time.Second)
	m.SetLeader(true)
	m.StatsFailed("timeout")
	m.CustomQueryFailed("q")
	m.ObserveCluster("ns", "c", metrics.ClusterSample{
		Ready: true, Phase: "Running",
		Members: []metrics.MemberSample{
			{Name: "c-0", Up: true, Role: "primary", Timeline: 2,
				Stats: &postgres.MemberStats{SlotRetainedWAL: map[string]int64{"c_1": 1}}},
			{Name: "c-1", Up: true, Role: "replica", Timeline: 2, LagBytes: 1, LagKnown: true,
				Stats: &postgres.MemberStats{InRecovery: true, ReplayLagKnown: true}},
		},
		Archive: &metrics.ArchiveSample{LastArchivedTime: time.Now(), ArchivedCount: 1, FailedCount: 1, Pending: 1, Dropped: 1},
	})

	families, err := m.Gatherer().Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range families {
		n := f.GetName()
		switch {
		case f.GetMetric()[0].GetHistogram() != nil:
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
		case f.GetMetric()[0].GetSummary() != nil:
			names[n], names[n+"_sum"], names[n+"_count"] = true, true, true
		default:
			names[n] = true
		}
	}
	// The sample reached every part of the registry.
	for _, n := range []string{"postgres_operator_member_replication_lag_bytes", "postgres_operator_archive_dropped_wal",
		"postgres_operator_replication_slot_retained_wal_bytes", "postgres_operator_member_replication_lag_seconds",
		"postgres_operator_failover_duration_seconds_bucket", "workqueue_retries_total", "rest_client_requests_total"} {
		require.True(t, names[n], n)
	}
	return names
}

type dashboardJSON struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Datasource datasource `json:"datasource"`
	Definition string     `json:"definition"`
	// Query is "prometheus" for the data source variable, an object for
	// the query variables.
	Query json.RawMessage `json:"query"`
}

type panel struct {
	ID          int        `json:"id"`
	Type        string     `json:"type"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Datasource  datasource `json:"datasource"`
	GridPos     struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string     `json:"refId"`
		Expr       string     `json:"expr"`
		Datasource datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

func dashboard(t *testing.T) dashboardJSON {
	t.Helper()
	data, err := os.ReadFile("grafana-dashboard.json")
	require.NoError(t, err)
	var d dashboardJSON
	require.NoError(t, json.Unmarshal(data, &d), "grafana-dashboard.json is JSON")
	return d
}

// allPanels are the panels, rows' panels included.
func (d dashboardJSON) allPanels() []panel {
	var all []panel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	return all
}
