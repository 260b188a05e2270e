package main

import (
	"strings"
	"testing"
	"time"
)

func TestWalSegNo(t *testing.T) {
	for name, want := range map[string]int64{
		"000000010000000000000003": 3,
		"0000000100000001000000FF": 0x1ff,
		"000000020000000100000000": 0x100,
	} {
		if got, ok := walSegNo(name); !ok || got != want {
			t.Errorf("walSegNo(%s) = %d, %t; want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{"", "00000002.history", "000000010000000000000003.00000028.backup"} {
		if _, ok := walSegNo(name); ok {
			t.Errorf("walSegNo(%q) took a non-segment", name)
		}
	}
}

func seg(n int) string { return "00000001000000000000000" + string(rune('0'+n)) }

// A switch at 0 s completes segment 1, archived 0.5 s later; archive_timeout
// completes segment 2 at 60 s, archived at 61 s; a sample at 60.75 s sees
// segment 2 written over but segment 1 still the last archived.
func TestAnalyzeRPO(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	samples := []archSample{
		{at: at(-0.5), current: seg(1), lastArchived: seg(0), lastArchivedAt: at(-30)},
		{at: at(0), current: seg(2), lastArchived: seg(0), lastArchivedAt: at(-30)},
		{at: at(1), current: seg(2), lastArchived: seg(1), lastArchivedAt: at(0.5)},
		{at: at(30), current: seg(2), lastArchived: "000000010000000000000001.00000028.backup", lastArchivedAt: at(29)},
		{at: at(60.75), current: seg(3), lastArchived: seg(1), lastArchivedAt: at(0.5)},
		{at: at(61.5), current: seg(3), lastArchived: seg(2), lastArchivedAt: at(61)},
	}
	r := analyzeRPO(samples)
	if r.segments != 2 || r.pending != 0 || r.unjudged != 2 {
		t.Fatalf("segments %d pending %d unjudged %d; want 2, 0, 2", r.segments, r.pending, r.unjudged)
	}
	if got := r.latency.max(); got != 500*time.Millisecond {
		t.Errorf("latency max %s; want 0.5 s (61 − 60.75 is 0.25 s)", got)
	}
	if got := r.behind.max(); got != 60750*time.Millisecond {
		t.Errorf("behind max %s; want 60.75 s", got)
	}
	if got := r.period.median(); got != 60750*time.Millisecond {
		t.Errorf("period %s; want 60.75 s", got)
	}
}

func sampleFigures() *backupFigures {
	f := newBackupFigures()
	f.dbBytes, f.load = 1<<30, 40*time.Second
	f.backup = backupRun{wall: 20 * time.Second, engine: 19 * time.Second}
	f.clone = restoreRun{wall: 10 * time.Second, rows: 1500, want: 1500}
	f.pitr = restoreRun{wall: 10 * time.Second, rows: 750, want: 750}
	f.rpo = rpoResult{timeout: time.Minute, behind: durations{time.Second, 61 * time.Second}}
	return f
}

func TestBackupTableFloorOnlyJudgesNothing(t *testing.T) {
	tb := backupTable(nil, sampleFigures(), backupOptions{scale: 70})
	if tb.checks != 0 || len(tb.misses) != 0 {
		t.Errorf("floor only: %d checks, misses %v; want none", tb.checks, tb.misses)
	}
}

func TestBackupTableJudgesTheCluster(t *testing.T) {
	c := sampleFigures()
	c.backup.wall = 31 * time.Second // floor 20 s: limit 30 s
	c.pitr.rows = 751
	c.rpo.behind = append(c.rpo.behind, 66*time.Second)
	tb := backupTable(c, sampleFigures(), backupOptions{scale: 70})
	if tb.checks != 6 {
		t.Errorf("%d checks; want 6 (backup, 2 restores, 2 row checks, archive lag)", tb.checks)
	}
	got := strings.Join(tb.misses, "\n")
	for _, want := range []string{"full backup: asked → done: 31.00 s ✗ MISSED (goal ≤ 30 s)",
		"marks restored / committed before the target: 751 / 750 ✗ MISSED", "archive behind at worst: 66.00 s ✗ MISSED (goal ≤ 65 s)"} {
		if !strings.Contains(got, want) {
			t.Errorf("misses lack %q:\n%s", want, got)
		}
	}
	if len(tb.misses) != 3 {
		t.Errorf("%d misses; want 3:\n%s", len(tb.misses), got)
	}
}
