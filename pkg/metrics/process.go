package metrics

import (
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// processCollector serves the process metrics dashboards use, under the
// standard collector's names and help, from one read of /proc/self/stat
// per scrape. The standard collector (collectors.NewProcessCollector) also
// read /proc/self/{status,limits,net/netstat}, the fd directory and
// /proc/stat at every scrape: a quarter of a scrape's CPU, for
// process_open_fds, process_max_fds, process_virtual_memory_max_bytes and
// process_network_*, which nothing of ours uses. The start time does not
// change, so /proc/stat is read once.
//
// Where /proc is missing (not Linux) it serves nothing, as the standard
// collector does with its errors unreported.
type processCollector struct {
	startTime func() (float64, error)
}

var (
	descProcessCPU = prometheus.NewDesc("process_cpu_seconds_total",
		"Total user and system CPU time spent in seconds.", nil, nil)
	descProcessVirtual = prometheus.NewDesc("process_virtual_memory_bytes",
		"Virtual memory size in bytes.", nil, nil)
	descProcessResident = prometheus.NewDesc("process_resident_memory_bytes",
		"Resident memory size in bytes.", nil, nil)
	descProcessStart = prometheus.NewDesc("process_start_time_seconds",
		"Start time of the process since unix epoch in seconds.", nil, nil)
)

func newProcessCollector() *processCollector {
	return &processCollector{startTime: sync.OnceValues(readStartTime)}
}

func (c *processCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descProcessCPU
	ch <- descProcessVirtual
	ch <- descProcessResident
	ch <- descProcessStart
}

func (c *processCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := readProcStat()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descProcessCPU, prometheus.CounterValue, float64(st.cpuTicks)/userHZ)
	ch <- prometheus.MustNewConstMetric(descProcessVirtual, prometheus.GaugeValue, float64(st.vsize))
	ch <- prometheus.MustNewConstMetric(descProcessResident, prometheus.GaugeValue, float64(st.rssPages)*float64(os.Getpagesize()))
	if start, err := c.startTime(); err == nil {
		ch <- prometheus.MustNewConstMetric(descProcessStart, prometheus.GaugeValue, start)
	}
}

// readProcStat reads /proc/self/stat in one read: the kernel fills it in
// whole, a few hundred bytes.
func readProcStat() (procStat, error) {
	f, err := os.Open("/proc/self/stat")
	if err != nil {
		return procStat{}, err
	}
	defer func() { _ = f.Close() }()
	var buf [1024]byte
	n, err := f.Read(buf[:])
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(buf[:n])
}

// readStartTime is when the process started, in seconds since the epoch:
// the boot time plus the start time since boot.
func readStartTime() (float64, error) {
	st, err := readProcStat()
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	boot, err := parseBootTime(b)
	if err != nil {
		return 0, err
	}
	return float64(boot) + float64(st.startTime)/userHZ, nil
}
