package main

import (
	"fmt"
	"strings"
)

// Exit codes of the bench. Only safety and scenarios that could not run
// fail it; missed goals and failed runs are counted in the summary.
const (
	exitOK             = 0
	exitScenarioFailed = 1 // a scenario could not run (its error is printed)
	exitBadFlags       = 2
	exitUnsafe         = 3 // a safety violation: takes precedence
)

// outcome is everything one bench run found.
type outcome struct {
	tables     []*table
	errs       []error  // scenarios that could not run
	faultRuns  int      // fault runs whose safety was checked
	violations []string // safetyViolations of those runs
	failed     []string // failedRuns of those runs
}

func (o outcome) exitCode() int {
	switch {
	case len(o.violations) > 0:
		return exitUnsafe
	case len(o.errs) > 0:
		return exitScenarioFailed
	}
	return exitOK
}

// summary is printed after every table, so that the figures are seen
// whatever the verdict: missed goals, failed runs, scenario errors, the
// SAFETY VIOLATIONS block, and one line that counts them all.
func (o outcome) summary() string {
	var b strings.Builder
	checks, misses := 0, []string(nil)
	for _, t := range o.tables {
		checks += t.checks
		misses = append(misses, t.misses...)
	}
	fmt.Fprintf(&b, "\n== Goals: %d of %d goal checks missed (reported, not fatal)\n", len(misses), checks)
	for _, m := range misses {
		b.WriteString("  " + m + "\n")
	}
	if len(o.failed) > 0 {
		fmt.Fprintf(&b, "\n== Failed fault runs: %d (reported, not fatal; their safety was checked on what was observed)\n", len(o.failed))
		for _, f := range o.failed {
			b.WriteString("  " + f + "\n")
		}
	}
	for _, err := range o.errs {
		fmt.Fprintf(&b, "\nERROR: %v\n", err)
	}
	switch {
	case len(o.violations) > 0:
		bar := strings.Repeat("!", 20)
		fmt.Fprintf(&b, "\n%s SAFETY VIOLATIONS: %d in %d fault runs %s\n", bar, len(o.violations), o.faultRuns, bar)
		for _, v := range o.violations {
			b.WriteString("  ✗ " + v + "\n")
		}
	case o.faultRuns == 0:
		b.WriteString("\n== SAFETY VIOLATIONS: not checked (no fault run)\n")
	default:
		fmt.Fprintf(&b, "\n== SAFETY VIOLATIONS: none in %d fault runs\n", o.faultRuns)
	}
	fmt.Fprintf(&b, "\nbench: %d safety violations, %d of %d goal checks missed, %d failed fault runs, %d scenario errors: exit %d\n",
		len(o.violations), len(misses), checks, len(o.failed), len(o.errs), o.exitCode())
	return b.String()
}
