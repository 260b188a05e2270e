//go:build integration

package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// The fence probe's exact command, as the kubelet runs it (after its "$$"
// expansion), over the local socket of real servers. A short lease keeps
// the test quick; the members' wal_receiver_status_interval is the
// operator's.

const testLease = 3 * time.Second

// fenceWorld is a primary of cluster "demo" (member demo-1) and, when
// asked, a standby demo-2 streaming from it through its member slot.
type fenceWorld struct {
	t       *testing.T
	primary *pgtest.Server
	standby *pgtest.Server
}

func newFenceWorld(t *testing.T, withStandby bool) *fenceWorld {
	w := &fenceWorld{t: t, primary: pgtest.NewPrimary(t, "demo-1")}
	if withStandby {
		w.standby = w.primary.NewStandby(t, "demo-2") // slot demo_2
		w.standby.Exec(t, "ALTER SYSTEM SET wal_receiver_status_interval = '"+walReceiverStatusInterval+"'")
		w.standby.Exec(t, "SELECT pg_reload_conf()")
	}
	return w
}

// probeCommand is the liveness probe's command as the kubelet runs it,
// pointed at s's socket (directory and port) instead of the member's.
func probeCommand(t *testing.T, s *pgtest.Server) []string {
	pgc := testCluster(3)
	pgc.Spec.Failover.FenceAfterSeconds = int32(testLease / time.Second)
	cmd := kubeletExpand(fenceProbe(pgc).Exec.Command)
	require.Contains(t, cmd[2], "-h "+runDir+" ")
	cmd[2] = strings.ReplaceAll(cmd[2], runDir, s.SocketDir())
	return cmd
}

func (w *fenceWorld) run(s *pgtest.Server, cmd []string) (bool, string) { return runOn(w.t, s, cmd) }

// runOn runs a probe's command as the kubelet would, with s's superuser
// password and port, and reports whether it passed, with its output.
func runOn(t *testing.T, s *pgtest.Server, cmd []string) (bool, string) {
	c := newSeedEnv(t).command([]string{"PGPASSWORD=" + s.Password, "PGPORT=" + strconv.Itoa(s.Port)}, cmd[0], cmd[1:]...)
	out, err := c.CombinedOutput()
	return err == nil, strings.TrimSpace(string(out))
}

// probe runs the probe and reports whether it passed, with its output.
func (w *fenceWorld) probe(s *pgtest.Server) (bool, string) {
	return w.run(s, probeCommand(w.t, s))
}

// answer is what the probe's query answers, run as the probe runs it but
// with psql's errors shown: a probe that passes because psql failed would
// prove nothing.
func (w *fenceWorld) answer(s *pgtest.Server) string {
	cmd := probeCommand(w.t, s)
	cmd[2] = strings.Replace(cmd[2], `2>/dev/null); case "$r"`, `2>&1); echo "$r"; case "$r"`, 1)
	_, out := w.run(s, cmd)
	return strings.SplitN(out, "\n", 2)[0]
}

// aliveThroughout asserts the probe passes, and the query answers as
// given ("alive: <reason>", or "lease" for a primary that needs one), on
// every run until the lease has run out twice over from now.
func (w *fenceWorld) aliveThroughout(s *pgtest.Server, answer string) {
	w.t.Helper()
	for end := time.Now().Add(2 * testLease); time.Now().Before(end); {
		ok, out := w.probe(s)
		require.True(w.t, ok, "%s: %s", answer, out)
		require.True(w.t, strings.HasPrefix(w.answer(s), answer), "answered %q, not %q", w.answer(s), answer)
	}
}

// olderThanLease waits until s's postmaster started more than the lease ago.
func olderThanLease(t *testing.T, s *pgtest.Server) {
	pgtest.Eventually(t, time.Minute, s.Name+" older than the lease", func() (bool, error) {
		v, err := s.QueryErr(fmt.Sprintf(`SELECT now() - pg_postmaster_start_time() > interval '%d seconds'`, testLease/time.Second))
		return v == "true", err
	})
}

func TestFenceProbeStandbyIsAlive(t *testing.T) {
	t.Parallel()
	w := newFenceWorld(t, true)
	w.primary.Stop(t) // nobody streams to it or beats to it
	olderThanLease(t, w.standby)
	w.aliveThroughout(w.standby, "alive: standby")
}

func TestFenceProbePrimaryWithoutMemberSlotsIsAlive(t *testing.T) {
	t.Parallel()
	w := newFenceWorld(t, false)
	// A slot of the user's (not named like a member's) does not count.
	w.primary.Exec(t, `SELECT pg_create_physical_replication_slot('demo_backup')`)
	olderThanLease(t, w.primary)
	w.aliveThroughout(w.primary, "alive: no member slots") // a one-member cluster never fences itself
}

func TestFenceProbeStreamingStandbyKeepsPrimaryAlive(t *testing.T) {
	t.Parallel()
	w := newFenceWorld(t, true)
	olderThanLease(t, w.primary)
	// No heartbeat at all: the operator is down for longer than the lease.
	w.aliveThroughout(w.primary, "lease") // an idle primary
}

func TestFenceProbeHeartbeatKeepsPrimaryAlive(t *testing.T) {
	t.Parallel()
	w := newFenceWorld(t, true)
	hb := postgres.StartHeartbeat(w.primary.Endpoint(), postgres.HeartbeatConfig{Interval: testLease / 4, Timeout: time.Second})
	defer hb.Close()
	w.standby.Stop(t)
	olderThanLease(t, w.primary)
	w.aliveThroughout(w.primary, "lease") // the heartbeat alone

	// A new heartbeat connection (the operator restarted, or reconnects
	// after an error): the old backend is gone before the new one beats,
	// and what the probe saw bridges the gap.
	hb.Close()
	<-hb.Done()
	hb = postgres.StartHeartbeat(w.primary.Endpoint(), postgres.HeartbeatConfig{Interval: testLease / 4, Timeout: time.Second})
	defer hb.Close()
	w.aliveThroughout(w.primary, "lease")

	hb.Close()
	<-hb.Done()
	stopped := time.Now()
	pgtest.Eventually(t, testLease+5*time.Second, "the primary to fence itself", func() (bool, error) {
		ok, _ := w.probe(w.primary)
		return !ok, nil
	})
	assert.GreaterOrEqual(t, time.Since(stopped), testLease-fenceLead-time.Second, "not before the lease (less fenceLead) ran out")
	ok, out := w.probe(w.primary)
	assert.False(t, ok)
	assert.Contains(t, out, "self-fencing")
}

func TestFenceProbeIsolatedPrimaryFences(t *testing.T) {
	t.Parallel()
	w := newFenceWorld(t, true)
	olderThanLease(t, w.primary)
	// Stop the standby right after a reply, so the lease runs from then.
	pgtest.Eventually(t, 10*time.Second, "a fresh reply", func() (bool, error) {
		v, err := w.primary.QueryErr(`SELECT clock_timestamp() - max(reply_time) < interval '200 milliseconds' FROM pg_stat_replication`)
		return v == "true", err
	})
	// The kubelet runs the probe every fenceProbePeriod: this run keeps the reply.
	ok, out := w.probe(w.primary)
	require.True(t, ok, out)
	stopped := time.Now()
	w.standby.Stop(t)
	pgtest.Eventually(t, time.Minute, "the primary to fence itself", func() (bool, error) {
		ok, _ := w.probe(w.primary)
		return !ok, nil
	})
	took := time.Since(stopped)
	discount := fenceReplyDiscount(testLease)
	assert.GreaterOrEqual(t, took, testLease-fenceLead-discount-500*time.Millisecond, "not before the lease (less fenceLead and the reply discount) ran out")
	assert.Less(t, took, testLease+2*time.Second, "within T + 2 s")
	t.Logf("fenced %v after the standby's last reply", took.Round(time.Millisecond))
	// It keeps saying so: the kubelet may kill on any run.
	ok, _ = w.probe(w.primary)
	assert.False(t, ok)
}

// A promoted standby has its members' slots (promote creates them first)
// and nobody streams to it or beats to it yet: its promotion, not its
// postmaster's start, gives it a lease of its own.
func TestFenceProbeFreshlyPromotedPrimaryIsAlive(t *testing.T) {
	t.Parallel()
	w := newFenceWorld(t, true)
	w.primary.Stop(t)
	w.standby.Exec(t, `SELECT pg_create_physical_replication_slot('demo_1')`)
	olderThanLease(t, w.standby)
	// Taken before the call: the promotion happens within it, so this is
	// never later than the promotion (pg_promote returns up to its poll
	// interval after it).
	promoted := time.Now()
	w.standby.Exec(t, `SELECT pg_promote(true, 30)`)
	ok, out := w.probe(w.standby)
	assert.True(t, ok, "just promoted: %s", out)
	assert.True(t, strings.HasPrefix(w.answer(w.standby), "lease "))
	pgtest.Eventually(t, time.Minute, "the lone new primary to fence itself", func() (bool, error) {
		ok, _ := w.probe(w.standby)
		return !ok, nil
	})
	// The history file's mtime has whole seconds, so the lease may count
	// from up to a second before the promotion, never more.
	assert.GreaterOrEqual(t, time.Since(promoted), testLease-fenceLead-time.Second, "its promotion counted")
}
