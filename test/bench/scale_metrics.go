package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Readers of what the scale scenario samples at a window's two ends: the
// leading operator's own /metrics, its network namespace's TCP counters,
// and the node's CPU and memory. The parsers are pure (scale_test.go).

// promSample is one sample of the Prometheus text format.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrapeMetrics GETs addr's /metrics (the text format: no Accept header).
func scrapeMetrics(ctx context.Context, addr string) ([]promSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", addr, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parsePromText(string(body)), nil
}

// parsePromText reads the samples of the text exposition format; comments
// and lines it cannot read are skipped.
func parsePromText(text string) []promSample {
	var out []promSample
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if s, ok := parsePromLine(line); ok {
			out = append(out, s)
		}
	}
	return out
}

// parsePromLine reads `name{k="v",...} value [timestamp]`.
func parsePromLine(line string) (promSample, bool) {
	s := promSample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, false
	}
	s.name, line = line[:i], line[i:]
	if line[0] == '{' {
		n, ok := parseLabels(line[1:], s.labels)
		if !ok {
			return s, false
		}
		line = line[1+n:]
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return s, false
	}
	v, err := strconv.ParseFloat(f[0], 64) // NaN and ±Inf included
	if err != nil {
		return s, false
	}
	s.value = v
	return s, true
}

// parseLabels reads `k="v",...}` into labels, undoing the format's escapes
// (\\, \", \n), and returns the bytes it read, the closing brace included.
func parseLabels(s string, labels map[string]string) (int, bool) {
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i < len(s) && s[i] == '}' {
			return i + 1, true
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 || i+eq+1 >= len(s) || s[i+eq+1] != '"' {
			return 0, false
		}
		key := strings.TrimSpace(s[i : i+eq])
		var v strings.Builder
		for i += eq + 2; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				if s[i] == 'n' {
					v.WriteByte('\n')
					continue
				}
			}
			v.WriteByte(s[i])
		}
		if i >= len(s) {
			return 0, false
		}
		labels[key] = v.String()
		i++ // the closing quote
	}
}

// sumBy adds a metric's samples by the value of one label.
func sumBy(ss []promSample, name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range ss {
		if s.name == name {
			out[s.labels[label]] += s.value
		}
	}
	return out
}

// metricTotal adds every sample of a metric; -1 when it has none.
func metricTotal(ss []promSample, name string) float64 {
	sum, seen := 0.0, false
	for _, s := range ss {
		if s.name == name {
			sum, seen = sum+s.value, true
		}
	}
	if !seen {
		return -1
	}
	return sum
}

// seriesIn counts a metric's series in one namespace, and those equal to 1.
func seriesIn(ss []promSample, name, ns string) (n, ones int) {
	for _, s := range ss {
		if s.name == name && s.labels["namespace"] == ns {
			n++
			if s.value == 1 {
				ones++
			}
		}
	}
	return n, ones
}

// snmpField reads one counter of /proc/<pid>/net/snmp: a header line
// "Tcp: RtoAlgorithm ... ActiveOpens ..." followed by a line of values.
func snmpField(text, proto, field string) (int64, error) {
	var header []string
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != proto+":" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		for i, h := range header {
			if h == field && i < len(f) {
				return strconv.ParseInt(f[i], 10, 64)
			}
		}
		break
	}
	return 0, fmt.Errorf("no %s %s counter", proto, field)
}

// tcpActiveOpens is how many TCP connections the network namespace of pid
// has opened (its own counters: /proc/<pid>/net is that namespace's view).
func tcpActiveOpens(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/snmp", pid))
	if err != nil {
		return 0, err
	}
	return snmpField(string(data), "Tcp", "ActiveOpens")
}

// cpuTicks reads /proc/stat's first line: the node's busy ticks (all but
// idle and iowait) and all ticks, summed over its CPUs.
func cpuTicks(text string) (busy, all int64, err error) {
	line, _, _ := strings.Cut(text, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat: %q", line)
	}
	// user nice system idle iowait irq softirq steal; guest time is
	// already counted in user.
	for i, s := range f[1:min(len(f), 9)] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		all += v
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, all, nil
}

// components are the local cluster's processes whose CPU the steady
// window reports, by their PID files (hack/lib/cluster-proc.sh).
var components = []string{"kube-apiserver", "etcd", "kubelet", "containerd", "kube-controller-manager", "kube-scheduler", "kube-proxy"}

// nodeSample is the node at one end of a window.
type nodeSample struct {
	busy, all  int64            // /proc/stat ticks
	components map[string]int64 // CPU ticks of each component found
	shims      int64            // CPU ticks of the containerd shims and their reaped children
	memUsed    int64            // MemTotal - MemAvailable, bytes
	memTotal   int64
}

// sampleNode reads the node's counters; runDir holds the PID files.
func sampleNode(runDir string) nodeSample {
	n := nodeSample{components: map[string]int64{}}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		n.busy, n.all, _ = cpuTicks(string(data))
	}
	n.shims = shimTicks()
	n.memTotal = kvBytes("/proc/meminfo", "MemTotal:")
	n.memUsed = n.memTotal - kvBytes("/proc/meminfo", "MemAvailable:")
	for _, c := range components {
		data, err := os.ReadFile(filepath.Join(runDir, c+".pid"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(data))
		if len(f) == 0 {
			continue
		}
		if pid, err := strconv.Atoi(f[0]); err == nil {
			if p, err := readProc(pid); err == nil {
				n.components[c] = p.cpuTicks
			}
		}
	}
	return n
}

// shimTicks adds the CPU of every containerd shim with that of its reaped
// children: the runc and psql of the kubelet's exec probes run there (the
// backend each probe starts is PostgreSQL's, not counted here).
func shimTicks() int64 {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var sum int64
	for _, f := range dirs {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if comm, ticks, ok := statTicks(string(data)); ok && comm == "containerd-shim" {
			sum += ticks
		}
	}
	return sum
}

// statTicks reads a /proc/<pid>/stat line: the command (as the kernel
// truncates it, 15 bytes) and utime+stime+cutime+cstime.
func statTicks(stat string) (comm string, ticks int64, ok bool) {
	open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || end < open || end+2 > len(stat) {
		return "", 0, false
	}
	f := strings.Fields(stat[end+2:])
	if len(f) < 15 {
		return "", 0, false
	}
	for _, v := range f[11:15] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", 0, false
		}
		ticks += n
	}
	return stat[open+1 : end], ticks, true
}
