package main

import "testing"

// The steady-state goal is on the operator's writes: an Event the API
// server's own repair controller adds, or another client's update, is
// shown but not counted against it.
func TestChangeCounterCountsTheOperatorsOwn(t *testing.T) {
	c := &changeCounter{counts: map[string]int{
		"Event added by ipallocator-repair-controller":           1,
		"Event added by postgres-operator":                       2,
		"PostgresCluster modified by postgres-operator (status)": 3,
		"Pod modified by kubelet (status)":                       4,
		"Service modified by postgres-operator-fork":             5,
	}}
	if got := c.byOperator(); got != 5 {
		t.Errorf("byOperator = %d; want 5 (2 Events and 3 status writes of the operator)", got)
	}
}
