//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// testAlertFor replaces every rule's `for:` in the rules the test's
// Prometheus evaluates (hack/prometheus.sh start --for): the shipped 1m to
// 30m are for production, not a test.
const testAlertFor = "5s"

// A real Prometheus (hack/prometheus.sh: built from its Go module, on the
// host) scrapes the operator's pods and evaluates manifests/monitoring's
// rules. A size-1 cluster whose only member is deleted while the cluster is
// paused has no primary, and stays so: PostgresClusterNoPrimary fires. Once
// resumed, the operator restarts the member on its volume and the alert
// goes.
func TestPrometheusAlertsOnNoPrimary(t *testing.T) {
	f := setupWaiting(t)
	prom := startPrometheus(t, f, operatorMetricsTargets(t, f))
	framework.Eventually(t, time.Minute, "every target up and the operator's series in Prometheus", func() (bool, error) {
		if err := prom.targetsUp(); err != nil {
			return false, err
		}
		v, err := prom.query(`sum(postgres_operator_leader)`)
		return err == nil && len(v) == 1 && v[0] == 1, framework.Errorf("sum(postgres_operator_leader) = %v (%v)", v, err)
	})
	rules, err := prom.alertRules()
	require.NoError(t, err)
	require.Contains(t, rules, "PostgresClusterNoPrimary", "the rules Prometheus loaded")

	ns := f.Namespace(t, "prometheus")
	createReadyCluster(t, f, ns, "np", 1, "")
	primarySeries := fmt.Sprintf(`postgres_operator_member_role{namespace=%q, cluster="np", role="primary"} == 1`, ns)
	framework.Eventually(t, time.Minute, "np's primary in Prometheus", func() (bool, error) {
		v, err := prom.query(primarySeries)
		return err == nil && len(v) == 1, framework.Errorf("%s: %v (%v)", primarySeries, v, err)
	})
	// No alert while np has its primary (the rules run a second behind the
	// query above).
	waitAlertState(t, prom, ns, "np", "", 30*time.Second)

	// Paused, the operator changes nothing: the deleted member stays gone.
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "np", "--type=merge", "-p", `{"spec":{"paused":true}}`)
	framework.Eventually(t, time.Minute, "np paused", func() (bool, error) {
		pgc := f.Cluster(t, ns, "np")
		return meta.IsStatusConditionTrue(pgc.Status.Conditions, v1alpha1.ConditionPaused), nil
	})
	primary := f.Cluster(t, ns, "np").Status.Primary
	require.NotEmpty(t, primary)
	deleted := time.Now()
	_, err = f.DeletePod(ns, primary, nil)
	require.NoError(t, err)
	waitAlertState(t, prom, ns, "np", "firing", 90*time.Second)
	t.Logf("PostgresClusterNoPrimary firing %s after %s was deleted (for: %s)",
		time.Since(deleted).Round(100*time.Millisecond), primary, testAlertFor)

	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "np", "--type=merge", "-p", `{"spec":{"paused":false}}`)
	f.WaitReady(t, ns, "np", lifecycleReadyTimeout)
	waitAlertState(t, prom, ns, "np", "", time.Minute)
}

func waitAlertState(t *testing.T, prom *prometheus, ns, cluster, want string, timeout time.Duration) {
	t.Helper()
	framework.Eventually(t, timeout, fmt.Sprintf("PostgresClusterNoPrimary for %s/%s %q", ns, cluster, want), func() (bool, error) {
		state, err := prom.alertState("PostgresClusterNoPrimary", ns, cluster)
		return err == nil && state == want, framework.Errorf("state %q (%v)", state, err)
	})
}

// operatorMetricsTargets are the pod IP:port of every running operator
// replica's metrics (the host reaches pod IPs), the standby's included, as
// the Service postgres-operator-metrics would give them.
func operatorMetricsTargets(t *testing.T, f *framework.Framework) []string {
	t.Helper()
	pods, err := f.Kube.CoreV1().Pods(framework.OperatorNamespace).List(context.Background(),
		metav1.ListOptions{LabelSelector: operatorSelector})
	require.NoError(t, err)
	var targets []string
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil || p.Status.PodIP == "" {
			continue
		}
		for _, port := range p.Spec.Containers[0].Ports {
			if port.Name == "metrics" {
				targets = append(targets, fmt.Sprintf("%s:%d", p.Status.PodIP, port.ContainerPort))
			}
		}
	}
	require.NotEmpty(t, targets, "running operator pods with a metrics port")
	return targets
}

// prometheus is a server hack/prometheus.sh started, and its HTTP API.
type prometheus struct {
	url, dir string
	client   *http.Client
}

// startPrometheus starts the server on the host (building it first; a
// failed build fails the test) and stops it when the test ends.
func startPrometheus(t *testing.T, f *framework.Framework, targets []string) *prometheus {
	t.Helper()
	script := filepath.Join(f.Root, "hack/prometheus.sh")
	start := time.Now()
	cmd := exec.Command(script, append([]string{"start", "--for", testAlertFor}, targets...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s start: %s", script, stderr.String())
	p := &prometheus{client: &http.Client{Timeout: 5 * time.Second}}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "PROMETHEUS_URL":
			p.url = v
		case "PROMETHEUS_DIR":
			p.dir = v
		}
	}
	require.NotEmpty(t, p.dir, "%s start printed no PROMETHEUS_DIR: %s", script, out)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(p.dir, "prometheus.log"))
			t.Logf("prometheus log:\n%s", log)
		}
		if out, err := exec.Command(script, "stop", p.dir).CombinedOutput(); err != nil {
			t.Errorf("%s stop: %v: %s", script, err, out)
		}
	})
	require.NotEmpty(t, p.url)
	t.Logf("prometheus at %s scraping %v (built and started in %s; %s)", p.url, targets,
		time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(stderr.String()))
	return p
}

// get calls the HTTP API and decodes its data.
func (p *prometheus) get(path string, params url.Values, data any) error {
	resp, err := p.client.Get(p.url + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, body.Error)
	}
	return json.Unmarshal(body.Data, data)
}

// query returns the values of an instant vector query.
func (p *prometheus) query(q string) ([]float64, error) {
	var data struct {
		Result []struct {
			Value [2]any `json:"value"` // [time, "value"]
		} `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	var values []float64
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value %v: %w", q, r.Value, err)
		}
		values = append(values, v)
	}
	return values, nil
}

// targetsUp is nil once every scrape target answered its last scrape.
func (p *prometheus) targetsUp() error {
	var data struct {
		ActiveTargets []struct {
			ScrapeURL string `json:"scrapeUrl"`
			Health    string `json:"health"`
			LastError string `json:"lastError"`
		} `json:"activeTargets"`
	}
	if err := p.get("/api/v1/targets", nil, &data); err != nil {
		return err
	}
	if len(data.ActiveTargets) == 0 {
		return fmt.Errorf("no targets")
	}
	for _, tg := range data.ActiveTargets {
		if tg.Health != "up" {
			return fmt.Errorf("%s is %s: %s", tg.ScrapeURL, tg.Health, tg.LastError)
		}
	}
	return nil
}

// alertRules are the names of the alerting rules Prometheus loaded.
func (p *prometheus) alertRules() ([]string, error) {
	var data struct {
		Groups []struct {
			Rules []struct {
				Name string `json:"name"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.get("/api/v1/rules", url.Values{"type": {"alert"}}, &data); err != nil {
		return nil, err
	}
	var names []string
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Name)
		}
	}
	return names, nil
}

// alertState is an alert's state for one cluster: "pending", "firing", or
// "" when it is not active.
func (p *prometheus) alertState(name, ns, cluster string) (string, error) {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.get("/api/v1/alerts", nil, &data); err != nil {
		return "", err
	}
	for _, a := range data.Alerts {
		if a.Labels["alertname"] == name && a.Labels["namespace"] == ns && a.Labels["cluster"] == cluster {
			return a.State, nil
		}
	}
	return "", nil
}
