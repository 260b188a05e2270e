package framework

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// The diagnostics printed when a test fails are long, and a CI log viewer
// that shows the end of a failed test's output would show only them. The
// failures recorded here are printed again after the diagnostics.
var recap = struct {
	sync.Mutex
	byTest map[string][]string
}{byTest: map[string][]string{}}

// Fail fails the test like t.Errorf and records the message for the recap.
func Fail(t testing.TB, format string, args ...any) {
	t.Helper()
	record(t, format, args...)
	t.Errorf(format, args...)
}

// Fatalf fails the test like t.Fatalf and records the message for the recap.
func Fatalf(t testing.TB, format string, args ...any) {
	t.Helper()
	record(t, format, args...)
	t.Fatalf(format, args...)
}

func record(t testing.TB, format string, args ...any) {
	recap.Lock()
	defer recap.Unlock()
	recap.byTest[t.Name()] = append(recap.byTest[t.Name()], fmt.Sprintf(format, args...))
}

// logRecap prints the recorded failures of the test, if any.
func logRecap(t testing.TB) {
	recap.Lock()
	msgs := recap.byTest[t.Name()]
	recap.Unlock()
	if len(msgs) > 0 {
		t.Logf("--- %s failed (repeated from above):\n  %s", t.Name(), strings.Join(msgs, "\n  "))
	}
}
