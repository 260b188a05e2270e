//go:build e2e

package framework

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PGBenchRound is what one complete pgbench run reported.
type PGBenchRound struct {
	Start     time.Time
	Processed int // "number of transactions actually processed"
	Failed    int // "number of failed transactions"
	Aborted   int // clients that lost their connection: pgbench stops them
	Err       error
	Output    string
}

var (
	roundProcessedRE = regexp.MustCompile(`number of transactions actually processed: (\d+)`)
	roundFailedRE    = regexp.MustCompile(`number of failed transactions: (\d+)`)
	roundAbortedRE   = regexp.MustCompile(`client \d+ (?:script \d+ )?aborted`)
)

// RunPGBenchRound runs `pgbench -c clients -T d` (the built-in TPC-B-like
// script, tables from InitPgbench) against host to the end, so its summary
// is complete. It is rate-limited so the shared 2-core machine stays usable.
func RunPGBenchRound(host, password string, clients int, d time.Duration) PGBenchRound {
	r := PGBenchRound{Start: time.Now()}
	cmd := exec.Command("pgbench", "-n", "-c", strconv.Itoa(clients), "-j", "2", "-R", "200",
		"-T", strconv.Itoa(int(d.Seconds())), "-h", host, "-p", "5432", "-U", "postgres", "postgres")
	// The password travels in the environment, never on the command line.
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=3")
	out, err := cmd.CombinedOutput()
	r.Output, r.Err = string(out), err
	if m := roundProcessedRE.FindStringSubmatch(r.Output); m != nil {
		r.Processed, _ = strconv.Atoi(m[1])
	}
	if m := roundFailedRE.FindStringSubmatch(r.Output); m != nil {
		r.Failed, _ = strconv.Atoi(m[1])
	}
	r.Aborted = len(roundAbortedRE.FindAllString(r.Output, -1))
	return r
}

// FirstError is the first error line pgbench printed, or "".
func (r PGBenchRound) FirstError() string {
	for _, line := range strings.Split(r.Output, "\n") {
		if strings.Contains(line, "error") || strings.Contains(line, "FATAL") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// PGBenchRounds runs pgbench rounds back to back until stopped, each to its
// end so every round reports its counts. pgbench (15) ends a client for
// good when its connection breaks, as it does for every client when the
// primary changes; an application reconnects, and so does this load: a new
// round starts at once.
type PGBenchRounds struct {
	mu       sync.Mutex
	rounds   []PGBenchRound
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// StartPGBenchRounds starts rounds of length round against host in the background.
func StartPGBenchRounds(host, password string, clients int, round time.Duration) *PGBenchRounds {
	l := &PGBenchRounds{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			r := RunPGBenchRound(host, password, clients, round)
			l.mu.Lock()
			l.rounds = append(l.rounds, r)
			l.mu.Unlock()
			if r.Processed == 0 && r.Err != nil {
				// Nothing reachable (-rw selects no pod yet): do not spin.
				select {
				case <-l.stop:
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
		}
	}()
	return l
}

// Stop lets the current round finish and returns every round. It may be
// called more than once.
func (l *PGBenchRounds) Stop() []PGBenchRound {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]PGBenchRound(nil), l.rounds...)
}
