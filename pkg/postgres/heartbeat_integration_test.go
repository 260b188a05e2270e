//go:build integration

package postgres_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

// beats collects a heartbeat's reports.
type beats struct {
	mu  sync.Mutex
	all []postgres.Beat
}

func (b *beats) report(beat postgres.Beat) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.all = append(b.all, beat)
}

func (b *beats) last() (postgres.Beat, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.all) == 0 {
		return postgres.Beat{}, 0
	}
	return b.all[len(b.all)-1], len(b.all)
}

// heartbeatBackend is the heartbeat's backend as the server sees it: its
// pid and how long ago its state last changed.
func heartbeatBackend(s *pgtest.Server) (string, error) {
	return s.QueryErr(`SELECT pid::text FROM pg_stat_activity WHERE application_name = $1
		AND usename = 'postgres' AND state_change > now() - interval '2 seconds'`, postgres.HeartbeatApplicationName)
}

func TestHeartbeatHoldsReconnectsAndStops(t *testing.T) {
	t.Parallel()
	s := pgtest.NewPrimary(t, "hb")
	var got beats
	hb := postgres.StartHeartbeat(s.Endpoint(), postgres.HeartbeatConfig{
		Interval: 200 * time.Millisecond, Timeout: time.Second, Report: got.report})
	defer hb.Close()

	var pid string
	pgtest.Eventually(t, 10*time.Second, "a recent heartbeat backend", func() (bool, error) {
		var err error
		pid, err = heartbeatBackend(s)
		return pid != "", err
	})
	// One connection, held: after several beats the backend is the same.
	_, n := got.last()
	pgtest.Eventually(t, 10*time.Second, "more beats", func() (bool, error) {
		_, m := got.last()
		return m >= n+3, nil
	})
	again, err := heartbeatBackend(s)
	require.NoError(t, err)
	assert.Equal(t, pid, again, "the connection is held, not reopened per beat")
	beat, _ := got.last()
	assert.NoError(t, beat.Err)
	assert.True(t, beat.Reached)

	s.Stop(t)
	pgtest.Eventually(t, 10*time.Second, "a failed beat", func() (bool, error) {
		beat, _ := got.last()
		return beat.Err != nil, nil
	})
	assert.True(t, postgres.IsUnreachable(func() error { b, _ := got.last(); return b.Err }()))
	s.Start(t)
	pgtest.Eventually(t, 10*time.Second, "the heartbeat back on the restarted server", func() (bool, error) {
		pid, err := heartbeatBackend(s)
		return pid != "", err
	})

	hb.Close()
	select {
	case <-hb.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the heartbeat did not stop")
	}
	pgtest.Eventually(t, 10*time.Second, "its backend gone", func() (bool, error) {
		n, err := s.QueryErr(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, postgres.HeartbeatApplicationName)
		return n == "0", err
	})
}

// A peer that accepts TCP but never answers (a partition after connect)
// costs each beat its Timeout and no more, and Close does not wait for it.
func TestHeartbeatBoundedAgainstSilentPeer(t *testing.T) {
	t.Parallel()
	port := pgtest.SilentListener(t)
	var got beats
	hb := postgres.StartHeartbeat(postgres.Endpoint{Host: "127.0.0.1", Port: port, Password: "x"},
		postgres.HeartbeatConfig{Interval: 100 * time.Millisecond, Timeout: 300 * time.Millisecond, Report: got.report})
	start := time.Now()
	pgtest.Eventually(t, 5*time.Second, "two failed beats", func() (bool, error) {
		_, n := got.last()
		return n >= 2, nil
	})
	assert.Less(t, time.Since(start), 3*time.Second)
	beat, _ := got.last()
	assert.Error(t, beat.Err)
	assert.True(t, beat.Reached, "connected over TCP: the server may have seen it")

	closed := time.Now()
	hb.Close()
	<-hb.Done()
	assert.Less(t, time.Since(closed), time.Second)
}

// Nothing listening: the beat never reached a server.
func TestHeartbeatRefusedIsNotReached(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	var got beats
	hb := postgres.StartHeartbeat(postgres.Endpoint{Host: "127.0.0.1", Port: port, Password: "x"},
		postgres.HeartbeatConfig{Interval: 100 * time.Millisecond, Timeout: 300 * time.Millisecond, Report: got.report})
	defer hb.Close()
	pgtest.Eventually(t, 5*time.Second, "a failed beat", func() (bool, error) {
		_, n := got.last()
		return n >= 1, nil
	})
	beat, _ := got.last()
	assert.Error(t, beat.Err)
	assert.False(t, beat.Reached)
}
