package fake

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

var ctx = context.Background()

func ep(host string) postgres.Endpoint { return postgres.Endpoint{Host: host, Password: "pw"} }

func pair() *Fake {
	f := New()
	f.Add("p", Server{Status: postgres.Status{Timeline: 1, CurrentLSN: 100}})
	f.Add("s", Server{Status: postgres.Status{InRecovery: true, Timeline: 1, ReceivedLSN: 90, ReplayedLSN: 80, ReceiverStatus: "streaming", UpstreamHost: "p"}})
	return f
}

func TestProbeAndUnreachable(t *testing.T) {
	f := pair()
	st, err := f.Probe(ctx, ep("p"))
	require.NoError(t, err)
	assert.Equal(t, postgres.LSN(100), st.Position())

	_, err = f.Probe(ctx, ep("unknown"))
	assert.True(t, postgres.IsUnreachable(err), "%v", err)

	f.Update("p", func(s *Server) { s.Down = true })
	_, err = f.Probe(ctx, ep("p"))
	assert.True(t, postgres.IsUnreachable(err))
	assert.NotContains(t, err.Error(), "pw")
}

func TestPromote(t *testing.T) {
	f := pair()
	require.NoError(t, f.Promote(ctx, ep("s"), time.Second))
	s := f.Server("s").Status
	assert.False(t, s.InRecovery)
	assert.Equal(t, uint32(2), s.Timeline)
	assert.Equal(t, postgres.LSN(90), s.CurrentLSN, "continues from the furthest WAL it had")
	assert.False(t, s.Streaming())

	require.NoError(t, f.Promote(ctx, ep("s"), time.Second), "promoting a primary is a no-op")
	assert.Equal(t, uint32(2), f.Server("s").Status.Timeline)
}

func TestPromoteFailure(t *testing.T) {
	f := pair()
	boom := errors.New("promote timed out")
	f.Update("s", func(s *Server) { s.PromoteErr = boom })
	assert.ErrorIs(t, f.Promote(ctx, ep("s"), time.Second), boom)
	assert.True(t, f.Server("s").Status.InRecovery)
}

func TestSlots(t *testing.T) {
	f := pair()
	require.NoError(t, f.EnsureSlot(ctx, ep("p"), "demo_2"))
	require.NoError(t, f.EnsureSlot(ctx, ep("p"), "demo_1"))
	require.NoError(t, f.EnsureSlot(ctx, ep("p"), "demo_1"))
	slots, err := f.Slots(ctx, ep("p"))
	require.NoError(t, err)
	require.Len(t, slots, 2)
	assert.Equal(t, "demo_1", slots[0].Name)
	assert.Equal(t, postgres.LSN(100), slots[0].RestartLSN)
	require.NoError(t, f.DropSlot(ctx, ep("p"), "demo_1"))
	require.NoError(t, f.DropSlot(ctx, ep("p"), "demo_1"))
	slots, _ = f.Slots(ctx, ep("p"))
	assert.Len(t, slots, 1)
}

func TestSetParameters(t *testing.T) {
	f := pair()
	changed, err := f.SetParameters(ctx, ep("s"), map[string]string{"work_mem": "8MB", "max_connections": "200"}, nil)
	require.NoError(t, err)
	assert.True(t, changed)
	changed, _ = f.SetParameters(ctx, ep("s"), map[string]string{"work_mem": "8MB"}, nil)
	assert.False(t, changed)
	pending, _ := f.PendingRestart(ctx, ep("s"))
	assert.Equal(t, []string{"max_connections"}, pending)

	changed, _ = f.SetParameters(ctx, ep("s"), nil, []string{"work_mem", "absent"})
	assert.True(t, changed)
	assert.Equal(t, map[string]string{"max_connections": "200"}, f.Server("s").Parameters)

	require.NoError(t, f.SetSynchronousStandbyNames(ctx, ep("p"), `ANY 1 ("s")`))
	assert.Equal(t, `ANY 1 ("s")`, f.Server("p").Parameters["synchronous_standby_names"])
}

func TestSetParametersRejects(t *testing.T) {
	f := pair()
	f.Update("p", func(s *Server) {
		s.Rejects = map[string]string{"shared_buffers=banana": `invalid value for parameter "shared_buffers": "banana"`, "nope": "unrecognized"}
	})
	changed, err := f.SetParameters(ctx, ep("p"), map[string]string{"shared_buffers": "banana", "nope": "1", "work_mem": "8MB"}, nil)
	assert.True(t, changed, "the other settings are written")
	rej := postgres.AsRejected(err)
	require.NotNil(t, rej, "%v", err)
	assert.Equal(t, []string{"nope", "shared_buffers"}, []string{rej.Rejected[0].Name, rej.Rejected[1].Name})
	assert.Equal(t, map[string]string{"work_mem": "8MB"}, f.Server("p").Parameters)

	changed, err = f.SetParameters(ctx, ep("p"), map[string]string{"shared_buffers": "128MB"}, nil)
	require.NoError(t, err, "only that value is refused")
	assert.True(t, changed)
}

func TestRoles(t *testing.T) {
	f := pair()
	require.NoError(t, f.EnsureRole(ctx, ep("p"), "replicator", true, true))
	require.NoError(t, f.SetPassword(ctx, ep("p"), "replicator", "s3cret"))
	assert.Equal(t, Role{Login: true, Replication: true, Password: "s3cret"}, f.Server("p").Roles["replicator"])
	assert.Error(t, f.SetPassword(ctx, ep("p"), "nobody", "x"))
	assert.Error(t, f.EnsureRole(ctx, ep("s"), "replicator", true, true), "standbys are read-only")
	for _, c := range f.Calls() {
		assert.NotContains(t, c.Args, "s3cret", "passwords are not recorded")
	}
}

func TestInjectedErrorsAndCalls(t *testing.T) {
	f := pair()
	boom := errors.New("boom")
	f.Update("p", func(s *Server) { s.Errors = map[string]error{"Checkpoint": boom} })
	assert.ErrorIs(t, f.Checkpoint(ctx, ep("p")), boom)
	assert.NoError(t, f.Reload(ctx, ep("p")))
	assert.Equal(t, []Call{{Method: "Checkpoint", Host: "p"}}, f.CallsTo("Checkpoint"))
	assert.Len(t, f.Calls(), 2)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, f.Reload(cancelled, ep("p")), context.Canceled)
}

func TestCopiesAreIndependent(t *testing.T) {
	f := pair()
	s := f.Server("p")
	s.Parameters["x"] = "y"
	s.Status.PendingRestart = append(s.Status.PendingRestart, "x")
	assert.Empty(t, f.Server("p").Parameters)
	assert.Empty(t, f.Server("p").Status.PendingRestart)
	f.Update("p", func(s *Server) { s.Slots = nil })
	assert.NoError(t, f.EnsureSlot(ctx, ep("p"), "a"), "nil maps are fixed up")
}

func TestConcurrentUse(t *testing.T) {
	f := pair()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = f.Probe(ctx, ep("p"))
				_, _ = f.SetParameters(ctx, ep("p"), map[string]string{"work_mem": string(rune('a' + i))}, nil)
				f.Update("s", func(s *Server) { s.Status.ReplayedLSN++ })
				_ = f.Server("s")
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, postgres.LSN(80+800), f.Server("s").Status.ReplayedLSN)
}
