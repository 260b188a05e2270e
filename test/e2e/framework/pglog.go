//go:build e2e

package framework

import (
	"strings"
	"time"
)

// What a member's log says about when its PostgreSQL could accept writes.
// The lines come from the kubelet's log file of the container (CRI format:
// "<RFC3339Nano> <stream> <F|P> <text>"), and the text from PostgreSQL with
// the operator's log_line_prefix ("%m [%p] ...": a millisecond timestamp).
const (
	// A promoted standby logs this in its startup process before it lets
	// backends write (StartupXLOG sets the recovery state to done after it).
	markerNewTimeline = "selected new timeline ID:"
	// A server started as a primary logs this when the postmaster starts
	// accepting connections; "read-only" ones are a hot standby's.
	markerReady         = "database system is ready to accept connections"
	markerReadyReadOnly = "database system is ready to accept read-only connections"
	// Logged after the shutdown checkpoint, once every backend is gone.
	markerShutDown = "database system is shut down"
)

// logEvent is what one log line tells, if anything.
type logEvent int

const (
	eventNone logEvent = iota
	eventWritable
	eventShutDown
)

// parseLogLine returns what a CRI log line says and when it happened: the
// earlier of PostgreSQL's own timestamp and the runtime's, so the time is
// never later than the event (PostgreSQL truncates to the millisecond and
// writes the line after the fact; the runtime stamps it later still).
func parseLogLine(line string) (logEvent, time.Time) {
	fields := strings.SplitN(line, " ", 4)
	if len(fields) < 4 {
		return eventNone, time.Time{}
	}
	text := fields[3]
	ev := eventNone
	switch {
	case strings.Contains(text, markerNewTimeline):
		ev = eventWritable
	case strings.Contains(text, markerReady) && !strings.Contains(text, markerReadyReadOnly):
		ev = eventWritable
	case strings.Contains(text, markerShutDown):
		ev = eventShutDown
	}
	if ev == eventNone {
		return ev, time.Time{}
	}
	at, err := time.Parse(time.RFC3339Nano, fields[0])
	if err != nil {
		return eventNone, time.Time{}
	}
	if pg, ok := postgresTimestamp(text); ok && pg.Before(at) {
		at = pg
	}
	return ev, at
}

// postgresTimestamp reads the "%m" prefix: "2026-12-01 14:40:01.123 UTC".
func postgresTimestamp(text string) (time.Time, bool) {
	parts := strings.SplitN(text, " ", 4)
	if len(parts) < 4 {
		return time.Time{}, false
	}
	at, err := time.Parse("2006-01-02 15:04:05.000 MST", strings.Join(parts[:3], " "))
	return at, err == nil
}
