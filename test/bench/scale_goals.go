package main

// The goals of issue 12 ("Prove the scale"), judged like every other goal
// (goals.go): a figure that misses one prints ✗ MISSED and is counted in
// the summary, never fatal.

// p99 bounds the spec-change latency. With 20 samples the nearest-rank
// p99 is the slowest one.
const p99 stat = "p99"

var (
	goalScaleRSS      = goal{"MiB", []bound{{single, 200}}}  // the operator's RSS, judged on the window's max
	goalScaleCPU      = goal{"core", []bound{{single, 0.5}}} // its CPU, the window's mean
	goalScaleWrites   = goal{"/min", []bound{{single, 0}}}   // API writes (and object changes) in the steady state
	goalSpecChange    = goal{"s", []bound{{p99, 2}}}         // spec change → first action
	goalFailoverRatio = goal{"× alone", []bound{{p50, 1.1}}} // one cluster's failover in the fleet vs alone
	goalRestart       = goal{"s", []bound{{single, 30}}}     // restart → every cluster observed
	goalRestartWrites = goal{"writes", []bound{{single, 0}}} // API writes during that time
)
