package metrics

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A /proc/<pid>/stat of Linux 6, whose command name holds a space and
// parentheses: utime 1500, stime 250 ticks, started 5693265 ticks after
// boot, 3133440 bytes of virtual memory, 414 pages resident.
const procStatFixture = "4972 (my (op) x) S 4970 4970 25381 0 -1 4194304 98 0 0 0 1500 250 -3 0 20 0 1 0 " +
	"5693265 3133440 414 18446744073709551615 94368857346048 94368857365929 140734233028784 0 0 0 0 0 0 0 0 0 " +
	"17 1 0 0 0 0 0 94368857381936 94368857383552 94368867459072 140734233033412 140734233033432 " +
	"140734233033432 140734233034731 0\n"

func TestParseProcStat(t *testing.T) {
	st, err := parseProcStat([]byte(procStatFixture))
	require.NoError(t, err)
	assert.Equal(t, procStat{cpuTicks: 1750, startTime: 5693265, vsize: 3133440, rssPages: 414}, st)

	for name, bad := range map[string]string{
		"empty":        "",
		"no command":   "4972 S 4970",
		"cut short":    "4972 (op) S 4970 4970 25381 0 -1 4194304 98 0 0 0 1500 250",
		"not a number": "4972 (op) S 4970 4970 25381 0 -1 4194304 98 0 0 0 15x0 250 0 0 20 0 1 0 1 2 3 4",
		"negative rss": "4972 (op) S 4970 4970 25381 0 -1 4194304 98 0 0 0 1500 250 0 0 20 0 1 0 1 2 -3 4",
	} {
		_, err := parseProcStat([]byte(bad))
		assert.Error(t, err, name)
	}
}

func TestParseBootTime(t *testing.T) {
	boot, err := parseBootTime([]byte("cpu  1 2 3\ncpu0 1 2 3\nintr 5 6\nctxt 7\nbtime 1796134530\nprocesses 8\n"))
	require.NoError(t, err)
	assert.Equal(t, uint64(1796134530), boot)
	_, err = parseBootTime([]byte("cpu  1 2 3\nbtimes 1\n"))
	assert.Error(t, err)
}

// The collector serves the standard collector's names with this process's
// figures.
func TestProcessCollector(t *testing.T) {
	c := newProcessCollector()
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems, "the names and help follow the conventions")
	ch := make(chan prometheus.Metric, 4)
	c.Collect(ch)
	close(ch)
	values := map[*prometheus.Desc]float64{}
	for m := range ch {
		var out dto.Metric
		require.NoError(t, m.Write(&out))
		values[m.Desc()] = out.GetGauge().GetValue() + out.GetCounter().GetValue()
	}
	require.Len(t, values, 4)
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	assert.InDelta(t, cpu, values[descProcessCPU], 0.05, "in ticks of 10ms")
	assert.Greater(t, values[descProcessResident], float64(os.Getpagesize()))
	assert.Greater(t, values[descProcessVirtual], values[descProcessResident])
	start := time.Unix(int64(values[descProcessStart]), 0)
	assert.WithinDuration(t, time.Now(), start, time.Hour, "the test binary started just now")
}

// Names, help, types and values are the standard collector's.
func TestProcessCollectorMatchesTheStandardOne(t *testing.T) {
	ours, std := prometheus.NewRegistry(), prometheus.NewRegistry()
	ours.MustRegister(newProcessCollector())
	std.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	got, err := ours.Gather()
	require.NoError(t, err)
	want, err := std.Gather()
	require.NoError(t, err)
	byName := map[string]*dto.MetricFamily{}
	for _, f := range want {
		byName[f.GetName()] = f
	}
	require.Len(t, got, 4)
	for _, f := range got {
		w := byName[f.GetName()]
		require.NotNil(t, w, f.GetName())
		assert.Equal(t, w.GetHelp(), f.GetHelp())
		assert.Equal(t, w.GetType(), f.GetType())
		g, s := f.GetMetric()[0], w.GetMetric()[0]
		gv, sv := g.GetGauge().GetValue()+g.GetCounter().GetValue(), s.GetGauge().GetValue()+s.GetCounter().GetValue()
		assert.InDelta(t, sv, gv, max(0.05, sv/10), "%s: CPU in ticks of 10ms, memory moving", f.GetName())
	}
}
