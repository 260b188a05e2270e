package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseHistory(t *testing.T) {
	h, err := parseHistory("1\t0/4018038\tno recovery target specified\n\n# comment\n2\t0/5000000\tno recovery target specified\n")
	require.NoError(t, err)
	assert.Equal(t, []TimelinePoint{{1, 0x4018038}, {2, 0x5000000}}, h)

	for _, bad := range []string{"1", "x\t0/1\tr", "1\tnot-an-lsn\tr"} {
		_, err := parseHistory(bad)
		assert.Error(t, err, bad)
	}
}

func TestSegmentStart(t *testing.T) {
	const mb16 = 16 << 20
	tests := []struct {
		seg  string
		size uint64
		want LSN
	}{
		{"0000000000000003", mb16, 0x3000000},
		{"000000010000000C", mb16, 0x1_0C000000},
		{"0000000000000002", 1 << 30, 0x80000000},
	}
	for _, tt := range tests {
		got, err := segmentStart(tt.seg, tt.size)
		require.NoError(t, err, tt.seg)
		assert.Equal(t, tt.want, got, tt.seg)
	}
	for _, bad := range []string{"", "00000000000000", "000000000000000G"} {
		_, err := segmentStart(bad, mb16)
		assert.Error(t, err, bad)
	}
	_, err := segmentStart("0000000000000003", 0)
	assert.Error(t, err)
}

func TestOffHistory(t *testing.T) {
	// The primary is on timeline 3: 1 ended at 0/100, 2 at 0/200.
	primary := Status{Timeline: 3, SafetyStatus: SafetyStatus{HistoryKnown: true,
		History: []TimelinePoint{{1, 0x100}, {2, 0x200}}}}
	tests := []struct {
		name    string
		p       TimelinePoint
		off, ok bool
	}{
		{"the primary's own timeline, anywhere", TimelinePoint{3, 0x9999}, false, true},
		{"an ancestor before it ended", TimelinePoint{2, 0x150}, false, true},
		{"an ancestor exactly where it ended", TimelinePoint{1, 0x100}, false, true},
		{"an ancestor past where it ended: diverged", TimelinePoint{1, 0x101}, true, true},
		{"a timeline the primary never had: diverged", TimelinePoint{4, 0x10}, true, true},
		{"no timeline: nothing proven", TimelinePoint{0, 0x10}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off, ok := primary.OffHistory(tt.p)
			assert.Equal(t, tt.off, off)
			assert.Equal(t, tt.ok, ok)
		})
	}
	unknown := primary
	unknown.HistoryKnown = false
	_, ok := unknown.OffHistory(TimelinePoint{1, 0x101})
	assert.False(t, ok, "an unreadable history proves nothing")
}

func TestParseSlotStatus(t *testing.T) {
	assert.Equal(t, map[string]string{"demo_2": "reserved", "demo_3": "lost", "x": ""},
		parseSlotStatus([]string{"demo_2=reserved", "demo_3=lost", "x="}))
}
