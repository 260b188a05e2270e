package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestExitCode(t *testing.T) {
	missed := newTable("t")
	missed.judged("5.15 s", "force, sync", targets[faultForce].goal, p95, 5.15)
	cases := []struct {
		name string
		o    outcome
		want int
	}{
		{"all well", outcome{faultRuns: 10}, exitOK},
		{"a missed goal is not fatal", outcome{tables: []*table{missed}, faultRuns: 10}, exitOK},
		{"a failed run is not fatal", outcome{failed: []string{"sync delete run 1 failed: timeout"}, faultRuns: 10}, exitOK},
		{"a scenario that could not run", outcome{errs: []error{errors.New("lifecycle: timeout")}}, exitScenarioFailed},
		{"a safety violation", outcome{violations: []string{"sync force run 1: two primaries"}, faultRuns: 10}, exitUnsafe},
		{"safety wins over errors", outcome{violations: []string{"x"}, errs: []error{errors.New("y")}}, exitUnsafe},
	}
	for _, c := range cases {
		if got := c.o.exitCode(); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
		if !strings.Contains(c.o.summary(), fmt.Sprintf(": exit %d\n", c.want)) {
			t.Errorf("%s: the summary does not say exit %d:\n%s", c.name, c.want, c.o.summary())
		}
	}
}

// The end of a bench run that missed a goal and broke safety.
func Example_outcome_summary() {
	failover := newTable("Failover")
	g := targets[faultForce].goal
	failover.judged("2.25 s", "(c) primary pod deleted, --grace-period=0 --force, sync", g, p50, 2.25)
	failover.judged("5.15 s", "(c) primary pod deleted, --grace-period=0 --force, sync", g, p95, 5.15)
	lifecycle := newTable("Lifecycle")
	lifecycle.judged("3.12 s", "apply → Ready, size 1", targets[figReady1].goal, p50, 3.12)
	o := outcome{
		tables:     []*table{lifecycle, failover},
		faultRuns:  136,
		violations: []string{"sync force run 3: 2 of 811 acknowledged commits lost in sync mode"},
		failed:     []string{"async delete run 9 failed: after delete: no write acknowledged by a new primary"},
	}
	fmt.Print(o.summary())
	// Output:
	// == Goals: 1 of 3 goal checks missed (reported, not fatal)
	//   (c) primary pod deleted, --grace-period=0 --force, sync: 5.15 s ✗ MISSED (goal p95 ≤ 4 s)
	//
	// == Failed fault runs: 1 (reported, not fatal; their safety was checked on what was observed)
	//   async delete run 9 failed: after delete: no write acknowledged by a new primary
	//
	// !!!!!!!!!!!!!!!!!!!! SAFETY VIOLATIONS: 1 in 136 fault runs !!!!!!!!!!!!!!!!!!!!
	//   ✗ sync force run 3: 2 of 811 acknowledged commits lost in sync mode
	//
	// bench: 1 safety violations, 1 of 3 goal checks missed, 1 failed fault runs, 0 scenario errors: exit 3
}

func Example_outcome_summary_safe() {
	o := outcome{faultRuns: 136}
	fmt.Print(o.summary())
	// Output:
	// == Goals: 0 of 0 goal checks missed (reported, not fatal)
	//
	// == SAFETY VIOLATIONS: none in 136 fault runs
	//
	// bench: 0 safety violations, 0 of 0 goal checks missed, 0 failed fault runs, 0 scenario errors: exit 0
}
