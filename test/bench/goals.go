package main

import (
	"fmt"
	"strconv"
	"strings"
)

// stat names the statistic of a figure that a goal bounds.
type stat string

const (
	p50       stat = "p50"
	p95       stat = "p95"
	single    stat = ""             // a figure measured once (a rate over a window)
	lostCount stat = "lost commits" // acknowledged commits missing afterwards
)

// bound is one promise: the statistic is at most limit, in the goal's unit.
type bound struct {
	stat  stat
	limit float64
}

// goal is what issues 4 and 5 promise about one figure. Missing a goal is
// reported, never fatal: only safety violations fail the bench.
type goal struct {
	unit   string // "s", "/min" or "" (a count)
	bounds []bound
}

// String is the goal as the tables print it, e.g. "p50 ≤ 3 s, p95 ≤ 5 s".
func (g goal) String() string {
	var parts []string
	for _, b := range g.bounds {
		parts = append(parts, b.String(g.unit))
	}
	return strings.Join(parts, ", ")
}

func (b bound) String(unit string) string {
	s := "≤ " + strconv.FormatFloat(b.limit, 'f', -1, 64)
	if unit != "" {
		s += " " + unit
	}
	if b.stat != single {
		s = string(b.stat) + " " + s
	}
	return s
}

// judge compares the measured v (negative: not measured) of statistic s
// with the goal. judged is false when the goal does not bound s; marker is
// empty when v meets the bound, else a MISSED marker naming the bound.
// A figure that has a goal but was not measured misses it: no run met it.
func (g goal) judge(s stat, v float64) (marker string, judged bool) {
	for _, b := range g.bounds {
		if b.stat != s {
			continue
		}
		switch {
		case v < 0:
			return fmt.Sprintf("✗ MISSED: not measured (goal %s)", b.String(g.unit)), true
		case v > b.limit:
			return fmt.Sprintf("✗ MISSED (goal %s)", b.String(g.unit)), true
		}
		return "", true
	}
	return "", false
}

// referenceSource says where every reference figure comes from: they are
// constants typed in from earlier measurements of another operator, so
// the output must never let them pass for figures of this run.
const referenceSource = "reference: CloudNativePG 1.30 measured on this same local cluster, as quoted in issues 4 and 5; " +
	"a constant, not re-measured by this bench"

// target is the goal and the reference of one figure.
type target struct {
	goal      goal
	reference string // another operator's figure; "" when there is none
}

// Figures that have a goal or a reference. Faults are keyed by their fault
// name (faultKill, ...), the others by these names.
const (
	figReady1      = "ready1"
	figReady3      = "ready3"
	figReplicaBack = "replicaBack"
	figScaleUp     = "scaleUp"
	figIdleRSS     = "idleRSS"
	figIdleWrites  = "idleWrites"
	figIdleChanges = "idleChanges"
	figPodOverhead = "podOverhead"
)

// targets is the one table of the goals and references of issues 4 and 5
// (the lifecycle goals have no statistic there; they are judged on the
// median, as issue 4's closing note compared them): every table and the
// summary read them from here.
var targets = map[string]target{
	figReady1:      {goal{"s", []bound{{p50, 7}}}, "19.6 s"},
	figReady3:      {goal{"s", []bound{{p50, 15}}}, "60.7 s"},
	figReplicaBack: {goal{"s", []bound{{p50, 6}}}, "12.3 s"},
	figScaleUp:     {goal{"s", []bound{{p50, 12}}}, "43 s"},

	faultKill:       {goal{"s", []bound{{p50, 3}, {p95, 5}}}, "24 s median"},
	faultDelete:     {goal{"s", []bound{{p50, 2.5}, {p95, 4}}}, "3.4 s median"},
	faultForce:      {goal{"s", []bound{{p50, 2.5}, {p95, 4}}}, "3.4 s median; 21 s in 3 of 10"},
	faultSwitchover: {goal{"", []bound{{lostCount, 0}}}, ""},

	figIdleRSS:     {goal{}, "70 MiB"},
	figIdleWrites:  {goal{"/min", []bound{{single, 0}}}, ""},
	figIdleChanges: {goal{"/min", []bound{{single, 0}}}, ""},
	figPodOverhead: {goal{}, "~60 MiB instance manager in every pod"},
}
