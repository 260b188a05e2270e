package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// kubeletExpand does to a container command what the kubelet does: "$$"
// becomes "$", and "$(NAME)" a variable's value (there are none here, so
// it stays as written).
func kubeletExpand(cmd []string) []string {
	out := make([]string, len(cmd))
	for i, s := range cmd {
		out[i] = strings.ReplaceAll(s, "$$", "$")
	}
	return out
}

func TestFenceProbeCommand(t *testing.T) {
	pgc := testCluster(3)
	p := fenceProbe(pgc)
	cmd := p.Exec.Command
	require.Len(t, cmd, 5)
	script, query := cmd[2], cmd[4]
	assert.Contains(t, query, "interval '9 seconds'", "the default lease, less fenceLead")

	assert.NotContains(t, query, "$", "the query must reach psql as written")
	for i := 0; i < len(script); i++ {
		if script[i] == '$' {
			require.True(t, i+1 < len(script) && script[i+1] == '$', "a lone $ at %d: %q", i, script[i:])
			i++
		}
	}
	expanded := kubeletExpand(cmd)[2]
	assert.Contains(t, expanded, `r=$($t psql -h /var/run/postgresql -U postgres`)
	assert.Contains(t, expanded, `-c "$1"`)
	assert.Contains(t, expanded, `case "$r" in "fence "*)`)
	assert.Contains(t, expanded, `l=$(cat /var/run/postgresql/fence-lease 2>/dev/null)`)
	assert.Contains(t, expanded, `-c postgres_operator.fence_seen=$l"`)

	assert.Contains(t, query, "left(slot_name, 5) = 'demo_'")
	assert.Contains(t, query, "application_name = 'postgres-operator-heartbeat' AND usename = 'postgres')\n   - interval '3500 milliseconds'",
		"beats count from 3.5 s before they arrived")
	assert.Contains(t, query, "usename = 'replicator')\n   - interval '6 seconds'", "replies count from 6 s before they were sent")

	assert.EqualValues(t, 1, p.FailureThreshold, "the answer itself is the proof")
	assert.EqualValues(t, 2, p.PeriodSeconds)
	assert.GreaterOrEqual(t, p.TimeoutSeconds, int32(10),
		"psql's own bound (timeout 4) ends first, with room for a saturated node's exec and shell")
}

func TestFenceProbeUsesTheSpecLease(t *testing.T) {
	pgc := testCluster(3, func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.FenceAfterSeconds = 30 })
	assert.Contains(t, fenceProbe(pgc).Exec.Command[4], "interval '29 seconds'")

	pod := buildPod(pgc, memberPod{Name: "demo-1", Role: RolePrimary, Bootstrap: BootstrapInitdb, Image: testImage})
	require.NotNil(t, pod.Spec.Containers[0].LivenessProbe)
	got, ok := podFenceAfter(pod)
	assert.True(t, ok)
	assert.Equal(t, 30*time.Second, got)
}

func TestPodWithoutFenceProbeIsNotSelfFencing(t *testing.T) {
	pod := buildPod(testCluster(3), memberPod{Name: "demo-1", Role: RolePrimary, Image: testImage})
	delete(pod.Annotations, FenceAfterAnnotation)
	_, ok := podFenceAfter(pod)
	assert.False(t, ok)
}

// The default lease keeps existing pods' hash: upgrading the operator
// rolls nothing. Another lease rolls the members.
func TestFenceLeaseInSpecHash(t *testing.T) {
	plain := testCluster(3)
	defaulted := testCluster(3, func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.FenceAfterSeconds = 10 })
	longer := testCluster(3, func(p *v1alpha1.PostgresCluster) { p.Spec.Failover.FenceAfterSeconds = 30 })
	assert.Equal(t, podSpecHash(plain, testImage), podSpecHash(defaulted, testImage))
	assert.NotEqual(t, podSpecHash(plain, testImage), podSpecHash(longer, testImage))
}

func TestStandbysReplyWellWithinTheShortestLease(t *testing.T) {
	assert.Equal(t, walReceiverStatusInterval, desiredParameters(testCluster(3))["wal_receiver_status_interval"])
	mine := testCluster(3, func(p *v1alpha1.PostgresCluster) {
		p.Spec.Parameters = map[string]string{"wal_receiver_status_interval": "30s"}
	})
	assert.Equal(t, walReceiverStatusInterval, desiredParameters(mine)["wal_receiver_status_interval"], "owned: the spec cannot loosen it")
	assert.True(t, v1alpha1.IsOwnedParameter("wal_receiver_status_interval"))
	interval, err := time.ParseDuration(walReceiverStatusInterval)
	require.NoError(t, err)
	assert.LessOrEqual(t, 3*interval, 5*time.Second, "several replies within the shortest lease")
	assert.Equal(t, interval, replyInterval, "what the operator assumes of the standbys")
}

// The discount takes the ping gap (5 s) and a status interval off a reply,
// but never so much that replies every second could not keep a primary
// alive with replyLeeway to spare.
func TestFenceReplyDiscount(t *testing.T) {
	for lease, want := range map[time.Duration]time.Duration{
		5 * time.Second: time.Second, 8 * time.Second: 4 * time.Second,
		10 * time.Second: 6 * time.Second, time.Minute: 6 * time.Second,
	} {
		got := fenceReplyDiscount(lease)
		assert.Equal(t, want, got, lease)
		assert.GreaterOrEqual(t, lease-fenceLead-got, replyLeeway, lease)
	}
	assert.Equal(t, time.Duration(0), fenceReplyDiscount(3*time.Second), "never negative")

	pod := buildPod(testCluster(3), memberPod{Name: "demo-1", Role: RolePrimary, Bootstrap: BootstrapInitdb, Image: testImage})
	assert.Equal(t, 6*time.Second, podReplyDiscount(pod))
	delete(pod.Annotations, FenceReplyDiscountAnnotation)
	assert.Equal(t, time.Duration(0), podReplyDiscount(pod), "a pod made before the discount")
}

// The beat discount takes a beat interval and its timeout off a beat, but
// never so much that beats every interval could not keep a primary alive
// with replyLeeway to spare.
func TestFenceBeatDiscount(t *testing.T) {
	for lease, want := range map[time.Duration]time.Duration{
		5 * time.Second: 0, 8 * time.Second: 2 * time.Second,
		10 * time.Second: 3500 * time.Millisecond, time.Minute: 16 * time.Second,
	} {
		got := fenceBeatDiscount(lease)
		assert.Equal(t, want, got, lease)
		if got > 0 {
			assert.GreaterOrEqual(t, lease-fenceLead-heartbeatInterval(lease)-got, replyLeeway, lease)
		}
	}
	pod := buildPod(testCluster(3), memberPod{Name: "demo-1", Role: RolePrimary, Bootstrap: BootstrapInitdb, Image: testImage})
	assert.Equal(t, 3500*time.Millisecond, podBeatDiscount(pod))
	delete(pod.Annotations, FenceBeatDiscountAnnotation)
	assert.Equal(t, time.Duration(0), podBeatDiscount(pod), "a pod made before the discount")
}
