package pgtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// Divergence is the replica an async failover leaves behind, on real
// servers: Replica received and replayed WAL from the old primary that
// Primary, promoted while it lacked it, never had.
type Divergence struct {
	Primary *Server      // on timeline 2, forked from timeline 1 before OldEnd
	Replica *Server      // replayed timeline 1 up to OldEnd, now pointed at Primary
	OldEnd  postgres.LSN // where the old primary's WAL ended
}

// NewDivergence builds it from a primary and two standbys: a stops, the
// primary writes one more row that only b receives, the primary stops, a
// is promoted and b follows a. Before a stops, the primary starts a new
// WAL segment and writes megabytes in it: b's receiver restarts at the
// segment's start on each attempt, so it streams those again every
// retryInterval (b's wal_retrieve_retry_interval) up to the fork, as a
// member's does.
func NewDivergence(t testing.TB, retryInterval string) *Divergence {
	t.Helper()
	p := NewPrimary(t, "p")
	a := p.NewStandby(t, "a")
	b := p.NewStandby(t, "b")
	b.Exec(t, fmt.Sprintf(`ALTER SYSTEM SET wal_retrieve_retry_interval = '%s'`, retryInterval))
	b.Exec(t, `SELECT pg_reload_conf()`)
	p.Exec(t, `SELECT pg_switch_wal()`)
	p.Exec(t, `CREATE TABLE t AS SELECT generate_series(1, 150000) AS i`)
	a.waitReplayed(t, p.currentLSN(t))
	a.Stop(t)
	p.Exec(t, `INSERT INTO t VALUES (0)`)
	end := p.currentLSN(t)
	b.waitReplayed(t, end)
	p.Stop(t)
	a.Start(t)
	a.Exec(t, `SELECT pg_promote(true, 30)`)
	b.Follow(t, p, a)
	return &Divergence{Primary: a, Replica: b, OldEnd: end}
}

// Follow points this standby, which streamed from old, at upstream, with
// its slot there.
func (s *Server) Follow(t testing.TB, old, upstream *Server) {
	t.Helper()
	upstream.Exec(t, `SELECT pg_create_physical_replication_slot($1, true)`, postgres.SlotName(s.Name))
	ci := s.Query(t, `SHOW primary_conninfo`)
	ci = strings.Replace(ci, fmt.Sprintf("port=%d", old.Port), fmt.Sprintf("port=%d", upstream.Port), 1)
	s.Exec(t, fmt.Sprintf(`ALTER SYSTEM SET primary_conninfo = '%s'`, strings.ReplaceAll(ci, "'", "''")))
	s.Exec(t, `SELECT pg_reload_conf()`)
}

func (s *Server) currentLSN(t testing.TB) postgres.LSN {
	t.Helper()
	lsn, err := postgres.ParseLSN(s.Query(t, `SELECT pg_current_wal_lsn()`))
	if err != nil {
		t.Fatalf("pgtest: %s: %v", s.Name, err)
	}
	return lsn
}

// waitReplayed waits until this standby has replayed up to lsn.
func (s *Server) waitReplayed(t testing.TB, lsn postgres.LSN) {
	t.Helper()
	Eventually(t, 30*time.Second, fmt.Sprintf("%s to replay up to %s", s.Name, lsn), func() (bool, error) {
		done, err := s.QueryErr(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, lsn.String())
		return done == "true", err
	})
}
