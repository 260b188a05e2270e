//go:build integration

package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// The probe's safety columns, against real servers: what a streaming
// standby says of its upstream, and the two proofs that a standby can never
// stream again (its history left the primary's; the WAL it needs is gone).

func TestProbeSafetyColumns(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)
	// A receiver that pings its upstream every 2.5 s, as the operator's
	// default wal_receiver_timeout makes it do every 5 s.
	standby.Exec(t, `ALTER SYSTEM SET wal_receiver_timeout = '5s'`)
	standby.Exec(t, `SELECT pg_reload_conf()`)

	p := probe(t, primary)
	assert.True(t, p.HistoryKnown, "timeline 1 has no history file, and needs none")
	assert.Empty(t, p.History)
	assert.NotZero(t, p.OldestWAL)
	assert.LessOrEqual(t, p.OldestWAL, p.CurrentLSN)
	assert.Equal(t, map[string]string{postgres.SlotName("s"): "reserved"}, p.SlotWALStatus)
	assert.Equal(t, uint32(1), p.Checkpoint.Timeline)

	// Idle, the standby still hears from its upstream every few seconds.
	time.Sleep(4 * time.Second)
	s := probe(t, standby)
	assert.Equal(t, uint32(1), s.ReceiverTimeline)
	assert.True(t, s.ReceiverHeard)
	assert.GreaterOrEqual(t, s.ReceiverMessageAge, time.Duration(0))
	assert.Less(t, s.ReceiverMessageAge, 4*time.Second, "an idle upstream still sends keepalives")
	assert.Equal(t, uint32(1), s.Checkpoint.Timeline)
	assert.NotZero(t, s.Checkpoint.LSN)
	assert.Nil(t, s.SlotWALStatus, "slots are read on a primary only")
	off, ok := p.OffHistory(postgres.TimelinePoint{Timeline: s.ReceiverTimeline, LSN: s.ReplayedLSN})
	assert.True(t, ok)
	assert.False(t, off)

	slots := slotNames(t, postgres.New(), primary)
	assert.Equal(t, "s", slots[postgres.SlotName("s")].ActiveApplication, "the walsender names its standby")

	primary.Stop(t)
	pgtest.Eventually(t, 30*time.Second, "the receiver to notice", func() (bool, error) {
		st, err := postgres.New().Probe(context.Background(), standby.Endpoint())
		return !st.Streaming(), err
	})
	s = probe(t, standby)
	assert.Equal(t, uint32(1), s.Checkpoint.Timeline, "pg_control still answers without an upstream")
}

// TestProbeSeesDivergedStandby builds the stuck replica of an async
// failover: b received WAL from the old primary that the promoted a never
// had. b's WAL receiver then waits on timeline 1 past the point where a's
// history left it.
func TestProbeSeesDivergedStandby(t *testing.T) {
	t.Parallel()
	d := pgtest.NewDivergence(t, "5s")
	a, b, end := d.Primary, d.Replica, d.OldEnd

	primary := probe(t, a)
	require.Equal(t, uint32(2), primary.Timeline)
	require.True(t, primary.HistoryKnown)
	require.Len(t, primary.History, 1)
	assert.Equal(t, uint32(1), primary.History[0].Timeline)
	assert.Less(t, primary.History[0].LSN, end, "a's timeline 1 ended before b's")

	var s postgres.Status
	// A diverged receiver reconnects in a loop and reads "streaming" for a
	// moment each time: wait for a look between two attempts.
	pgtest.Eventually(t, 30*time.Second, "b's receiver to wait on its timeline", func() (bool, error) {
		var err error
		s, err = postgres.New().Probe(context.Background(), b.Endpoint())
		return s.ReceiverTimeline != 0 && !s.Streaming(), err
	})
	off, ok := primary.OffHistory(postgres.TimelinePoint{Timeline: s.ReceiverTimeline, LSN: s.ReplayedLSN})
	assert.True(t, ok)
	assert.True(t, off, "b replayed %s on timeline %d, which a left at %s", s.ReplayedLSN, s.ReceiverTimeline, primary.History[0].LSN)
}

// TestProbeSeesLostSlot: a standby down while the primary writes more than
// max_slot_wal_keep_size loses its slot, and the WAL it needs is gone.
func TestProbeSeesLostSlot(t *testing.T) {
	t.Parallel()
	primary, standby := pair(t)
	for _, q := range []string{`ALTER SYSTEM SET max_slot_wal_keep_size = '32MB'`,
		`ALTER SYSTEM SET max_wal_size = '64MB'`, `ALTER SYSTEM SET min_wal_size = '32MB'`, `SELECT pg_reload_conf()`} {
		primary.Exec(t, q)
	}
	standby.Stop(t)
	for range 3 {
		primary.Exec(t, `CREATE TABLE IF NOT EXISTS t AS SELECT 1 AS g`)
		primary.Exec(t, `INSERT INTO t SELECT generate_series(1, 500000)`)
		primary.Exec(t, `CHECKPOINT`)
	}
	p := probe(t, primary)
	assert.Equal(t, "lost", p.SlotWALStatus[postgres.SlotName("s")])

	standby.Start(t)
	// Its receiver starts, is refused the lost slot and retries: wait for
	// a look between two attempts.
	var s postgres.Status
	pgtest.Eventually(t, 30*time.Second, "the standby not streaming", func() (bool, error) {
		var err error
		s, err = postgres.New().Probe(context.Background(), standby.Endpoint())
		return !s.Streaming(), err
	})
	assert.Less(t, s.Position(), p.OldestWAL, "the segment the standby needs next is gone from the primary")
}
