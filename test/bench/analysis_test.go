package main

import (
	"testing"
	"time"
)

func TestPrimaryOverlaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	a := incarnation{member: "c-1", start: 1}
	b := incarnation{member: "c-2", start: 2}
	a2 := incarnation{member: "c-1", start: 3} // c-1 restarted on its volume
	sample := func(inc incarnation, sent, recv int, primary bool) roleSample {
		return roleSample{sent: at(sent), recv: at(recv), primary: primary, on: inc}
	}
	cases := []struct {
		name    string
		samples []roleSample
		want    int
	}{
		{"clean failover", []roleSample{
			sample(a, 0, 5, true), sample(b, 0, 5, false), sample(a, 50, 55, true),
			sample(b, 100, 105, false), sample(b, 150, 155, true), sample(a2, 200, 205, false),
		}, 0},
		{"old primary answers after the promotion", []roleSample{
			sample(a, 0, 5, true), sample(b, 100, 105, true), sample(a, 150, 155, true),
		}, 1},
		{"answers overlapping in flight", []roleSample{
			sample(a, 0, 5, true), sample(a, 100, 130, true), sample(b, 120, 125, true),
		}, 1},
		{"same member, two incarnations in turn", []roleSample{
			sample(a, 0, 5, true), sample(a2, 100, 105, true),
		}, 0},
	}
	for _, c := range cases {
		if got := primaryOverlaps(c.samples); len(got) != c.want {
			t.Errorf("%s: %d overlaps %v, want %d", c.name, len(got), got, c.want)
		}
	}
}

func TestQuantiles(t *testing.T) {
	var d durations
	for i := 1; i <= 20; i++ {
		d.add(time.Duration(i) * time.Second)
	}
	d.add(missing)
	if d.median() != 10*time.Second || d.p95() != 19*time.Second || d.max() != 20*time.Second || d.min() != time.Second {
		t.Errorf("median %s p95 %s max %s min %s", d.median(), d.p95(), d.max(), d.min())
	}
	if (durations{}).median() != missing {
		t.Errorf("an empty sample must have no median")
	}
}

// A write the old primary acknowledged is late after the fault, and taken
// by a deposed primary only if the client sent it after another
// postmaster had answered as primary.
func TestTimelineSplitWrites(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	old := incarnation{member: "c-1", start: 1}
	next := incarnation{member: "c-2", start: 2}
	o := &observer{samples: []roleSample{
		{sent: at(-50), recv: at(-45), primary: true, on: old},
		{sent: at(95), recv: at(100), primary: true, on: next},
	}}
	log := []write{
		{start: at(-20), end: at(-10), ok: true, on: old},  // before the fault
		{start: at(40), end: at(60), ok: true, on: old},    // late, sent before the promotion
		{start: at(90), end: at(130), ok: true, on: old},   // late, sent before the promotion
		{start: at(150), end: at(160), ok: true, on: old},  // sent after it: split
		{start: at(170), end: at(180), ok: false, on: old}, // failed: not acknowledged
		{start: at(200), end: at(210), ok: true, on: next},
	}
	tl := o.timeline(t0, podEvent{}, old, log)
	if tl.lateOldWrites != 3 || tl.splitWrites != 1 || !tl.firstWrite.Equal(at(210)) || tl.newPrimary != next {
		t.Errorf("late %d split %d first write %s new primary %s; want 3, 1, +210ms, %s",
			tl.lateOldWrites, tl.splitWrites, tl.firstWrite.Sub(t0), tl.newPrimary, next)
	}
}
