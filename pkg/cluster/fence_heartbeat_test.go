package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// fakeHeartbeats records the heartbeats an actor starts; a test beats
// through their Report.
type fakeHeartbeats struct {
	mu      sync.Mutex
	started []*fakeHeartbeat
}

type fakeHeartbeat struct {
	ep     postgres.Endpoint
	cfg    postgres.HeartbeatConfig
	closed atomic.Bool
}

func (h *fakeHeartbeat) Close() { h.closed.Store(true) }

func (f *fakeHeartbeats) start(ep postgres.Endpoint, cfg postgres.HeartbeatConfig) Heartbeater {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := &fakeHeartbeat{ep: ep, cfg: cfg}
	f.started = append(f.started, h)
	return h
}

// running lists the heartbeats not closed.
func (f *fakeHeartbeats) running() []*fakeHeartbeat {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeHeartbeat
	for _, h := range f.started {
		if !h.closed.Load() {
			out = append(out, h)
		}
	}
	return out
}

// heartbeatActor is an actor with fake heartbeats and a fake clock, fed
// observations directly.
func heartbeatActor(pgc *v1alpha1.PostgresCluster) (*Cluster, *fakeHeartbeats, *testingclock.FakeClock) {
	hbs := &fakeHeartbeats{}
	clk := testingclock.NewFakeClock(now)
	key := cache.ObjectName{Namespace: pgc.Namespace, Name: pgc.Name}
	c := New(&Config{Clock: clk, Heartbeat: hbs.start}, key, pgc, func(error) {})
	return c, hbs, clk
}

// answered marks a member as answering the operator's probe with the
// password pw.
func answered(pw string) memberOpt { return func(m *member) { m.login = pw } }

func TestHeartbeatFollowsThePrimary(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	c, hbs, _ := heartbeatActor(pgc)
	ctx := context.Background()
	obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary), answered("pw")), testMember(pgc, 2, up(RoleReplica)))

	c.followPrimary(ctx, pgc, obs)
	require.Len(t, hbs.running(), 1)
	hb := hbs.running()[0]
	assert.Equal(t, "10.0.0.1", hb.ep.Host)
	assert.Equal(t, "postgres", hb.ep.User)
	assert.Equal(t, 10*time.Second/4, hb.cfg.Interval, "T/4")
	assert.Equal(t, heartbeatTimeout, hb.cfg.Timeout)

	c.followPrimary(ctx, pgc, obs)
	assert.Len(t, hbs.started, 1, "the same primary keeps its heartbeat")

	unreachablePrimary := obsOf(pgc, testMember(pgc, 1, up(RolePrimary), unreachable), testMember(pgc, 2, up(RoleReplica)))
	c.followPrimary(ctx, pgc, unreachablePrimary)
	assert.Equal(t, []*fakeHeartbeat{hb}, hbs.running(), "a primary that did not answer keeps its heartbeat, which reconnects")

	rotated := obsOf(pgc, testMember(pgc, 1, up(RolePrimary), answered("new")), testMember(pgc, 2, up(RoleReplica)))
	c.followPrimary(ctx, pgc, rotated)
	require.Len(t, hbs.running(), 1)
	assert.True(t, hb.closed.Load(), "a rotated password reconnects")
	assert.Equal(t, "new", hbs.running()[0].ep.Password)

	recreated := obsOf(pgc, testMember(pgc, 1, up(RolePrimary), answered("new"), func(m *member) { m.pod.UID = types.UID("another") }),
		testMember(pgc, 2, up(RoleReplica)))
	c.followPrimary(ctx, pgc, recreated)
	assert.Len(t, hbs.started, 3, "a recreated pod reconnects")
	assert.Len(t, hbs.running(), 1)

	fenced := obsOf(pgc, testMember(pgc, 1, up(RolePrimary), fencedPod), testMember(pgc, 2, up(RoleReplica)))
	c.followPrimary(ctx, pgc, fenced)
	assert.Empty(t, hbs.running(), "a fenced primary is left to fence itself")

	promoted := obsOf(pgc, testMember(pgc, 1, noPod), testMember(pgc, 2, up(RolePrimary), answered("new")))
	c.followPrimary(ctx, pgc, promoted)
	require.Len(t, hbs.running(), 1)
	assert.Equal(t, "10.0.0.1", hbs.running()[0].ep.Host)
	c.stopHeartbeat()
	assert.Empty(t, hbs.running())
}

func TestNoHeartbeatForOneMember(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	c, hbs, _ := heartbeatActor(pgc)
	c.followPrimary(context.Background(), pgc, obsOf(pgc, testMember(pgc, 1, up(RolePrimary), answered("pw"))))
	assert.Empty(t, hbs.started, "a one-member cluster never fences itself, so needs no heartbeat")

	grown := testCluster(2, initialized("demo-1", 1))
	c.followPrimary(context.Background(), grown, obsOf(grown, testMember(grown, 1, up(RolePrimary), answered("pw"))))
	assert.Len(t, hbs.running(), 1, "scaling up starts it before the replica has its slot")
}

// The actor stops its heartbeat when it stops (cluster deleted, leadership
// lost, shutdown).
func TestActorStopClosesHeartbeat(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	w := newWorld(t, pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)), testMember(pgc, 3, up(RoleReplica)))
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan struct{})
	go func() { w.c.Run(ctx); close(done) }()
	require.Eventually(t, func() bool { return len(w.hb.running()) == 1 }, 10*time.Second, 10*time.Millisecond, "heartbeat started")
	cancel()
	<-done
	assert.Empty(t, w.hb.running())
}

func TestBeatsMoveLastAlive(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	c, _, clk := heartbeatActor(pgc)
	report := c.beatReporter("demo-1")
	lost := func() *observation {
		return obsOf(pgc, testMember(pgc, 1, up(RolePrimary), fencedPod, terminating, unreachable),
			testMember(pgc, 2, up(RoleReplica), notStreaming), testMember(pgc, 3, up(RoleReplica), notStreaming))
	}

	c.trackAlive(clk.Now(), pgc, lost())
	assert.Equal(t, now, c.lastAlive["demo-1"], "no record: alive now, as far as the actor knows")

	clk.Step(5 * time.Second)
	report(postgres.Beat{Reached: true, Err: assert.AnError}) // may have reached it, then failed
	clk.Step(time.Second)
	report(postgres.Beat{Err: assert.AnError}) // never connected
	clk.Step(5 * time.Second)
	c.trackAlive(clk.Now(), pgc, lost())
	assert.Equal(t, now.Add(5*time.Second-3500*time.Millisecond), c.lastAlive["demo-1"],
		"the last beat that may have reached it, less the beat discount its probe counts beats with")

	clk.Step(time.Second)
	heard := lost()
	heard.members[1] = testMember(pgc, 2, up(RoleReplica), heardFromPrimary(500*time.Millisecond))
	c.trackAlive(clk.Now(), pgc, heard)
	assert.Equal(t, clk.Now().Add(-500*time.Millisecond), c.lastAlive["demo-1"],
		"a standby heard from it; the link lasted at most until its next ping (half of wal_receiver_timeout), its replies a status interval more, "+
			"and the primary counts a reply as proof from that much before it was sent")

	heard.members[0].pod.Annotations[FenceReplyDiscountAnnotation] = "0" // a pod made before the discount
	c.trackAlive(clk.Now(), pgc, heard)
	assert.Equal(t, clk.Now().Add(-500*time.Millisecond).Add(5*time.Second+replyInterval), c.lastAlive["demo-1"],
		"replies at full value: the whole bound")
	heard.members[0].pod.Annotations[FenceReplyDiscountAnnotation] = "6"

	noPing := testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) {
		p.Spec.Parameters = map[string]string{"wal_receiver_timeout": "0"}
	})
	clk.Step(time.Minute)
	c.trackAlive(clk.Now(), noPing, heard)
	assert.Equal(t, clk.Now().Add(-6*time.Second), c.lastAlive["demo-1"],
		"a receiver that never pings may have replied until now, a reply worth the discount less")
}

func TestParseGUCDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"10s": 10 * time.Second, "10000": 10 * time.Second, " 2 min ": 2 * time.Minute, "500ms": 500 * time.Millisecond} {
		got, ok := parseGUCDuration(in, time.Millisecond)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	_, ok := parseGUCDuration("1.5s", time.Millisecond)
	assert.False(t, ok, "unread values are not guessed")
}

func TestFailingBeatPokesTheActorOnce(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	c, _, _ := heartbeatActor(pgc)
	report := c.beatReporter("demo-1")
	report(postgres.Beat{Reached: true})
	assert.Empty(t, c.wake)
	report(postgres.Beat{Err: assert.AnError})
	assert.Len(t, c.wake, 1, "the first failure asks for a pass")
	<-c.wake
	report(postgres.Beat{Err: assert.AnError})
	assert.Empty(t, c.wake, "later failures do not")
}

// A pass waits for its slowest probe (a primary cut off: its whole connect
// timeout); a standby's age counts back from its own answer.
func TestStandbyAgeCountsFromItsAnswer(t *testing.T) {
	pgc := testCluster(3, initialized("demo-1", 3))
	c, _, clk := heartbeatActor(pgc)
	obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary), fencedPod, terminating, unreachable),
		testMember(pgc, 2, up(RoleReplica), heardFromPrimary(500*time.Millisecond)), testMember(pgc, 3, up(RoleReplica), notStreaming))
	c.lastAlive["demo-1"] = clk.Now().Add(-time.Minute)
	obs.members[1].answeredAt = clk.Now().Add(-2 * time.Second)
	c.trackAlive(clk.Now(), pgc, obs)
	assert.Equal(t, clk.Now().Add(-2500*time.Millisecond), c.lastAlive["demo-1"])
}
