//go:build e2e

package e2e

import (
	"slices"
	"time"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// currentPrimary reads who the primary is and its timeline, waiting out a
// moment in which the cluster has none.
func (e *chaosEnv) currentPrimary(what string) framework.PrimaryState {
	var p framework.PrimaryState
	framework.Eventually(e.t, 30*time.Second, what+": the primary and its timeline", func() (bool, error) {
		var err error
		p, err = e.topo.CurrentPrimary()
		return err == nil, err
	})
	return p
}

// checkPrimaryOutcome: a fault that hit the primary must end with another
// member promoted on a later timeline, which status, the -rw Service and an
// Event all name; any other fault must keep the primary.
func (e *chaosEnv) checkPrimaryOutcome(r *chaosResult, expect primaryOutcome, before, after framework.PrimaryState, injectAt time.Time) {
	var problems []string
	switch expect {
	case expectFailover:
		problems = e.topo.CheckFailedOver(before, after, injectAt)
	case expectSamePrimary:
		problems = e.topo.CheckKeptPrimary(before, after)
	}
	for _, p := range problems {
		e.errorf(r, "%s", p)
	}
}

// checkPrimaryIntervals is the never-two-primaries check by intervals,
// from PostgreSQL's log and the kernel (see framework.PrimaryWatch), over
// the fault's window. It also proves the check saw what it must: every
// member followed, the current primary's interval open (unless after is
// unknown: the cluster did not recover), and the hit primary's interval
// closed.
func (e *chaosEnv) checkPrimaryIntervals(r *chaosResult, expect primaryOutcome, before, after framework.PrimaryState, injectAt time.Time) {
	from := injectAt.Add(-time.Second)
	var c framework.PrimaryCheck
	// A dead member's log is read to its end within about a second.
	framework.Eventually(e.t, 15*time.Second, r.fault+": every member's log followed", func() (bool, error) {
		c = e.primaries.Check(from, time.Now())
		return len(c.Unobserved) == 0, framework.Errorf("unobserved members: %v", c.Unobserved)
	})
	e.t.Logf("%s: %s", r.fault, c.Summary())
	for _, o := range c.Overlaps {
		r.twoPrimaries++
		e.errorf(r, "two primaries at once: %s", o)
	}
	for _, u := range c.Unobserved {
		e.errorf(r, "a member could not be observed through the fault, so two primaries cannot be ruled out: %s", u)
	}
	if after.Name != "" && !slices.Equal(c.OpenPrimaries, []string{after.Name}) {
		e.errorf(r, "the primary intervals still open are %v, want only %s's: the interval check is blind", c.OpenPrimaries, after.Name)
	}
	if expect == expectFailover && !slices.Contains(c.Closed, before.Name) {
		e.errorf(r, "no closed primary interval for the old primary %s: its end was not observed", before.Name)
	}
}

// checkLost applies the durability promise: in sync mode no acknowledged
// commit is lost; in async mode only commits the promoted replica had not
// received may be (see framework.LostBeyondBound).
func (e *chaosEnv) checkLost(r *chaosResult, after framework.PrimaryState) {
	if len(r.lost) == 0 {
		return
	}
	if e.mode == "sync" {
		e.errorf(r, "sync mode lost %d acknowledged commits: ids %s", len(r.lost), framework.FormatIDs(r.lost, 20))
		return
	}
	switches, err := e.topo.TimelineSwitches(after)
	if err != nil {
		e.errorf(r, "reading the timeline history on %s: %v", after.Name, err)
		return
	}
	bad, unknown := framework.LostBeyondBound(r.lost, e.recorder.AckedWAL(), after, switches)
	e.t.Logf("%s: async mode lost %d acknowledged commits the promoted replica had not received: ids %s",
		r.fault, len(r.lost)-len(bad)-len(unknown), framework.FormatIDs(r.lost, 20))
	if len(unknown) > 0 {
		e.t.Logf("%s: %d lost ids have no recorded WAL position: %s", r.fault, len(unknown), framework.FormatIDs(unknown, 20))
	}
	if len(bad) > 0 {
		e.errorf(r, "async mode lost %d commits that the promoted replica had received (timeline switches %v): ids %s",
			len(bad), switches, framework.FormatIDs(bad, 20))
	}
}
