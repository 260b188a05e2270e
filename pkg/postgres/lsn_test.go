package postgres

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLSN(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want LSN
	}{
		{"0/0", 0},
		{"0/3000060", 0x3000060},
		{"1/0", 1 << 32},
		{"16/B374D848", 0x16_B374D848},
		{"ffffffff/ffffffff", LSN(^uint64(0))},
		{"00000000/00000001", 1},
	} {
		got, err := ParseLSN(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestParseLSNRejects(t *testing.T) {
	for _, in := range []string{"", "0", "/", "0/", "/0", "0/0/0", "g/0", "0/-1", "+1/0", "0x1/0", "1_0/0", "123456789/0", " 0/0", "0/0 "} {
		_, err := ParseLSN(in)
		assert.Error(t, err, "%q", in)
	}
}

func TestLSNStringRoundTrip(t *testing.T) {
	for _, l := range []LSN{0, 0x3000060, 1 << 32, 0x16_B374D848, LSN(^uint64(0))} {
		back, err := ParseLSN(l.String())
		require.NoError(t, err)
		assert.Equal(t, l, back)
	}
	assert.Equal(t, "0/3000060", LSN(0x3000060).String())
	assert.Equal(t, "16/B374D848", LSN(0x16_B374D848).String())
}

func TestLSNOrdersAsWALPosition(t *testing.T) {
	// The high half dominates: 1/0 is past 0/FFFFFFFF.
	a, _ := ParseLSN("0/FFFFFFFF")
	b, _ := ParseLSN("1/0")
	c, _ := ParseLSN("1/10")
	assert.Less(t, a, b)
	assert.Less(t, b, c)
	assert.Equal(t, uint64(0x10), uint64(c-b), "difference is a distance in bytes")
	lsns := []LSN{c, a, b}
	assert.Equal(t, c, slices.Max(lsns))
}

func TestLSNJSON(t *testing.T) {
	type s struct{ L LSN }
	b, err := json.Marshal(s{L: 0x3000060})
	require.NoError(t, err)
	assert.JSONEq(t, `{"L":"0/3000060"}`, string(b))
	var back s
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, LSN(0x3000060), back.L)
	assert.Error(t, json.Unmarshal([]byte(`{"L":"nope"}`), &back))
}

func TestStatusPosition(t *testing.T) {
	primary := Status{CurrentLSN: 100}
	assert.Equal(t, LSN(100), primary.Position())
	standby := Status{InRecovery: true, ReceivedLSN: 90, ReplayedLSN: 80}
	assert.Equal(t, LSN(90), standby.Position())
	notStreaming := Status{InRecovery: true, ReplayedLSN: 80} // restored from archive only
	assert.Equal(t, LSN(80), notStreaming.Position())
	assert.True(t, Status{ReceiverStatus: "streaming"}.Streaming())
	assert.False(t, Status{ReceiverStatus: "catchup"}.Streaming())
}
