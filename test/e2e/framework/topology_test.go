//go:build e2e

package framework

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The verdicts the chaos suite rests on, without a cluster.
func TestSnapshotVerdicts(t *testing.T) {
	primary := MemberView{Name: "c-1", Labelled: true, Answer: "primary"}
	replica := MemberView{Name: "c-2", Answer: "standby"}
	for _, tc := range []struct {
		name     string
		s        Snapshot
		one, two bool
	}{
		{"one labelled primary answering", Snapshot{Members: []MemberView{primary, replica},
			LabelPrimaries: []string{"c-1"}, SQLPrimaries: []string{"c-1"}}, true, false},
		{"label and answer disagree", Snapshot{Members: []MemberView{primary, replica},
			LabelPrimaries: []string{"c-1"}, SQLPrimaries: []string{"c-2"}}, false, false},
		{"the labelled primary is being deleted", Snapshot{Members: []MemberView{{Name: "c-1", Labelled: true, Terminating: true}},
			LabelPrimaries: []string{"c-1"}, SQLPrimaries: []string{"c-1"}}, false, false},
		{"no primary", Snapshot{Members: []MemberView{replica}}, false, false},
		{"two labelled", Snapshot{LabelPrimaries: []string{"c-1", "c-2"}, SQLPrimaries: []string{"c-1"}}, false, true},
		{"two answering, one from a deleted pod", Snapshot{LabelPrimaries: []string{"c-2"},
			SQLPrimaries: []string{"c-2", "c-1 (deleted pod)"}}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, one := tc.s.OnePrimary()
			assert.Equal(t, tc.one, one, "OnePrimary")
			assert.Equal(t, tc.two, tc.s.TwoPrimaries(), "TwoPrimaries")
		})
	}
}

// Writability is judged by a write that began after the primary was seen.
func TestFirstAckStartedAfter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &Recorder{
		acked:   []int64{1, 2, 5},
		startAt: []time.Time{t0, t0.Add(time.Second), t0.Add(3 * time.Second)},
		ackedAt: []time.Time{t0.Add(10 * time.Millisecond), t0.Add(4 * time.Second), t0.Add(5 * time.Second)},
	}
	at, ok := r.FirstAckStartedAfter(t0.Add(500 * time.Millisecond))
	assert.True(t, ok)
	assert.Equal(t, t0.Add(4*time.Second), at, "id 2 began after the instant; id 1 did not")
	_, ok = r.FirstAckStartedAfter(t0.Add(3 * time.Second))
	assert.False(t, ok, "no write began after the last one")
	assert.Equal(t, 2, r.AckedBetween(t0, t0.Add(4500*time.Millisecond)))
}

func TestParseLSN(t *testing.T) {
	assert.Equal(t, uint64(0x1_0000_0A28), parseLSN("1/A28"))
	assert.Equal(t, "1/A28", formatLSN(parseLSN("1/A28")))
	assert.Equal(t, uint64(0), parseLSN(""), "NULL")
}
