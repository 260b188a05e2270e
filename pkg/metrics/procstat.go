package metrics

import (
	"bytes"
	"errors"
)

// Parsers of the two /proc files the process metrics need (process.go),
// written for this use: they allocate nothing, where the procfs package
// parses every field into a struct at every scrape.

// userHZ is the unit of the times in /proc/<pid>/stat: the kernel
// reports them in USER_HZ ticks, which is 100 on every architecture Linux
// runs Go on (procfs, and so the standard process collector, assume it
// too).
const userHZ = 100

// procStat is what the process metrics read of /proc/self/stat.
type procStat struct {
	cpuTicks  uint64 // utime + stime, in userHZ ticks
	startTime uint64 // since boot, in userHZ ticks
	vsize     uint64 // bytes
	rssPages  uint64
}

var errProcStat = errors.New("unexpected /proc/self/stat")

// Fields of /proc/<pid>/stat (proc(5) numbers them from 1) counted from
// the state, the first one after the command name.
const (
	fieldUTime     = 14 - 3
	fieldSTime     = 15 - 3
	fieldStartTime = 22 - 3
	fieldVSize     = 23 - 3
	fieldRSS       = 24 - 3
)

// parseProcStat reads "pid (comm) state ppid ...". The command name may
// hold spaces and parentheses, so the fields start after the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	var st procStat
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return st, errProcStat
	}
	rest := b[end+1:]
	for i := 0; i <= fieldRSS; i++ {
		var f []byte
		if f, rest = nextField(rest); f == nil {
			return st, errProcStat
		}
		var err error
		switch i {
		case fieldUTime, fieldSTime:
			var t uint64
			t, err = parseUint(f)
			st.cpuTicks += t
		case fieldStartTime:
			st.startTime, err = parseUint(f)
		case fieldVSize:
			st.vsize, err = parseUint(f)
		case fieldRSS:
			st.rssPages, err = parseUint(f)
		}
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// parseBootTime reads the "btime" line of /proc/stat: when the system
// booted, in seconds since the epoch.
func parseBootTime(b []byte) (uint64, error) {
	for len(b) > 0 {
		line, next, _ := bytes.Cut(b, []byte("\n"))
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			return parseUint(bytes.TrimSpace(v))
		}
		b = next
	}
	return 0, errors.New("no btime in /proc/stat")
}

// nextField splits off the first space-separated field; nil when none is
// left.
func nextField(b []byte) (field, rest []byte) {
	b = bytes.TrimLeft(b, " \n")
	if len(b) == 0 {
		return nil, nil
	}
	if i := bytes.IndexAny(b, " \n"); i >= 0 {
		return b[:i], b[i:]
	}
	return b, nil
}

// parseUint parses a decimal number; strconv would need a string.
func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 19 {
		return 0, errProcStat
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errProcStat
		}
		n = n*10 + uint64(c-'0')
	}
	return n, nil
}
