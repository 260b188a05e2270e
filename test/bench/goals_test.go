package main

import "testing"

func TestGoalJudge(t *testing.T) {
	failover := goal{"s", []bound{{p50, 2.5}, {p95, 4}}}
	rate := goal{"/min", []bound{{single, 0}}}
	cases := []struct {
		name       string
		g          goal
		s          stat
		v          float64
		wantMarker string
		wantJudged bool
	}{
		{"p95 missed", failover, p95, 5.15, "✗ MISSED (goal p95 ≤ 4 s)", true},
		{"p50 met", failover, p50, 1.25, "", true},
		{"exactly on the bound meets it", failover, p95, 4, "", true},
		{"not measured misses", failover, p50, -1, "✗ MISSED: not measured (goal p50 ≤ 2.5 s)", true},
		{"a statistic without a bound is not judged", failover, lostCount, 3, "", false},
		{"no goal at all", goal{}, p50, 100, "", false},
		{"a rate above zero", rate, single, 0.02, "✗ MISSED (goal ≤ 0 /min)", true},
		{"a rate of zero", rate, single, 0, "", true},
		{"a count", goal{"", []bound{{lostCount, 0}}}, lostCount, 2, "✗ MISSED (goal lost commits ≤ 0)", true},
	}
	for _, c := range cases {
		marker, judged := c.g.judge(c.s, c.v)
		if marker != c.wantMarker || judged != c.wantJudged {
			t.Errorf("%s: judge(%q, %v) = %q, %t; want %q, %t", c.name, c.s, c.v, marker, judged, c.wantMarker, c.wantJudged)
		}
	}
}

func TestGoalString(t *testing.T) {
	for fig, want := range map[string]string{
		faultKill:       "p50 ≤ 3 s, p95 ≤ 5 s",
		faultForce:      "p50 ≤ 2.5 s, p95 ≤ 4 s",
		figReady1:       "p50 ≤ 7 s",
		figIdleWrites:   "≤ 0 /min",
		faultSwitchover: "lost commits ≤ 0",
		figIdleRSS:      "",
	} {
		if got := targets[fig].goal.String(); got != want {
			t.Errorf("goal of %s: %q, want %q", fig, got, want)
		}
	}
}

// Every goal and reference the tables print comes from targets; a key
// typed wrong there would silently print no goal.
func TestTargetsCoverTheFigures(t *testing.T) {
	for _, fig := range []string{figReady1, figReady3, figReplicaBack, figScaleUp, faultKill, faultDelete, faultForce, faultSwitchover, figIdleWrites, figIdleChanges} {
		if len(targets[fig].goal.bounds) == 0 {
			t.Errorf("%s has no goal", fig)
		}
	}
	for _, fig := range []string{figReady1, figReady3, figReplicaBack, figScaleUp, faultKill, faultDelete, faultForce, figIdleRSS, figPodOverhead} {
		if targets[fig].reference == "" {
			t.Errorf("%s has no reference", fig)
		}
	}
}

func TestTableJudgedCountsMisses(t *testing.T) {
	tb := newTable("t", "what", "p50", "p95")
	g := targets[faultForce].goal
	tb.add("force, sync", tb.judged("2.25 s", "force, sync", g, p50, 2.25), tb.judged("5.15 s", "force, sync", g, p95, 5.15))
	tb.add("no goal", tb.judged("9.00 s", "no goal", goal{}, p50, 9))
	if tb.checks != 2 || len(tb.misses) != 1 {
		t.Fatalf("checks %d, misses %v; want 2 checks, 1 miss", tb.checks, tb.misses)
	}
	if want := "force, sync: 5.15 s ✗ MISSED (goal p95 ≤ 4 s)"; tb.misses[0] != want {
		t.Errorf("miss %q, want %q", tb.misses[0], want)
	}
	if got := tb.rows[1][2]; got != "5.15 s ✗ MISSED (goal p95 ≤ 4 s)" {
		t.Errorf("cell %q", got)
	}
}
