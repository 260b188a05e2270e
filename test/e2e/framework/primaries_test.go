//go:build e2e

package framework

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseLogLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want logEvent
		at   string
	}{
		{"2026-12-01T14:40:01.500000000Z stderr F 2026-12-01 14:40:01.123 UTC [57] LOG:  selected new timeline ID: 3",
			eventWritable, "14:40:01.123"},
		{"2026-12-01T14:40:01.500000000Z stderr F 2026-12-01 14:40:01.200 UTC [1] LOG:  database system is ready to accept connections",
			eventWritable, "14:40:01.200"},
		{"2026-12-01T14:40:01.500000000Z stderr F 2026-12-01 14:40:01.200 UTC [1] LOG:  database system is ready to accept read-only connections",
			eventNone, ""},
		{"2026-12-01T14:40:02.000000000Z stderr F 2026-12-01 14:40:01.900 UTC [9] LOG:  database system is shut down",
			eventShutDown, "14:40:01.900"},
		// Without PostgreSQL's own timestamp the runtime's is used.
		{"2026-12-01T14:40:02.000000000Z stderr F LOG:  database system is shut down", eventShutDown, "14:40:02.000"},
		{"2026-12-01T14:40:02.000000000Z stdout F member demo-1: starting postgres as primary", eventNone, ""},
		{"garbage", eventNone, ""},
	} {
		ev, at := parseLogLine(tc.line)
		assert.Equal(t, tc.want, ev, tc.line)
		if tc.at != "" {
			assert.Equal(t, tc.at, at.UTC().Format("15:04:05.000"), tc.line)
		}
	}
}

func TestPrimaryIntervalsOverlap(t *testing.T) {
	at := func(s float64) time.Time { return time.Unix(1000, 0).Add(time.Duration(s * float64(time.Second))) }
	closed := func(pod string, from, to float64) primaryInterval {
		return primaryInterval{pod: pod, uid: pod, from: at(from), to: at(to)}
	}
	open := func(pod string, from float64) primaryInterval {
		return primaryInterval{pod: pod, uid: pod, from: at(from), open: true}
	}
	assert.Empty(t, overlaps([]primaryInterval{closed("a", 0, 5), open("b", 5.001)}), "a clean handover")
	assert.Len(t, overlaps([]primaryInterval{closed("a", 0, 5), open("b", 4.9)}), 1, "b promoted before a died")
	assert.Len(t, overlaps([]primaryInterval{open("a", 0), open("b", 10)}), 1, "two live primaries")
	assert.Len(t, overlaps([]primaryInterval{closed("a", 0, 5), closed("b", 1, 2), open("c", 3)}), 2, "a overlaps both; b ended before c")
}

func TestLostBeyondBound(t *testing.T) {
	primary := PrimaryState{Name: "c-2", Timeline: 3}
	switches := map[uint32]uint64{1: 1000, 2: 2000} // timeline 1 ended at 1000, 2 at 2000
	acked := map[int64]WALPoint{
		1: {Timeline: 1, LSN: 900},  // the replica had it
		2: {Timeline: 2, LSN: 2100}, // beyond the switch: may be lost
		3: {Timeline: 3, LSN: 3000}, // on today's timeline: must be there
		4: {},                       // never measured
		5: {Timeline: 2, LSN: 2000}, // exactly at the switch: the replica had it
	}
	bad, unknown := LostBeyondBound([]int64{1, 2, 3, 4, 5}, acked, primary, switches)
	assert.Equal(t, []int64{1, 3, 5}, bad)
	assert.Equal(t, []int64{4}, unknown)
}
