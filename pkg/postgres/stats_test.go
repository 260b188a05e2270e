package postgres

import (
	"database/sql"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checkpoint counters moved to pg_stat_checkpointer in PostgreSQL 17.
func TestStatsQueryFollowsTheServerVersion(t *testing.T) {
	assert.Contains(t, checkpointQuery(150010), "pg_stat_bgwriter")
	assert.Contains(t, checkpointQuery(160004), "pg_stat_bgwriter")
	assert.Contains(t, checkpointQuery(170000), "pg_stat_checkpointer")
	assert.Contains(t, checkpointQuery(180001), "pg_stat_checkpointer")
	assert.Contains(t, statsQueryFor(160004), "pg_stat_bgwriter")
	assert.NotContains(t, statsQueryFor(160004), "pg_stat_checkpointer")
	assert.Contains(t, statsQueryFor(170000), "pg_stat_checkpointer")
	assert.NotContains(t, statsQueryFor(170000), "pg_stat_bgwriter")
}

// The states are a bounded set, whatever a server reports.
func TestStatsBucketStates(t *testing.T) {
	var st MemberStats
	require.NoError(t, st.decode(`{"active": 2, "idle": 5, "starting": 1, "": 1, "Idle": 3}`, sql.NullString{}))
	assert.Equal(t, map[string]int64{"active": 2, "idle": 5, OtherState: 5}, st.Connections)
	assert.Nil(t, st.SlotRetainedWAL, "a standby reads no slots")

	require.NoError(t, st.decode(`{}`, sql.NullString{Valid: true, String: `{"demo_2": 16777216, "big": 10000000000}`}))
	assert.Equal(t, map[string]int64{"demo_2": 16777216, "big": 10_000_000_000}, st.SlotRetainedWAL)
	assert.Error(t, st.decode(`not json`, sql.NullString{}))
}

func TestCustomValues(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[any]float64{int64(3): 3, 2.5: 2.5, true: 1, false: 0, "12.5": 12.5, at: float64(at.Unix())} {
		got, err := numericValue(in)
		require.NoError(t, err, "%v", in)
		assert.Equal(t, want, got, "%v", in)
	}
	got, err := numericValue([]byte(" 1e3 "))
	require.NoError(t, err)
	assert.Equal(t, 1000.0, got)
	got, err = numericValue(nil)
	require.NoError(t, err)
	assert.True(t, math.IsNaN(got))
	_, err = numericValue("many")
	assert.ErrorIs(t, err, errNotNumber)

	assert.Equal(t, "", labelValue(nil))
	assert.Equal(t, "x", labelValue([]byte("x")))
	assert.Equal(t, "7", labelValue(int64(7)))
	assert.Equal(t, "2024-01-02T03:04:05Z", labelValue(at))

	q := CustomQuery{Labels: []string{"l"}, Values: []CustomValue{{Column: "v"}}}
	_, err = q.row([]any{[]byte{0xff}, int64(1)}, []int{0, 1})
	assert.ErrorContains(t, err, "not UTF-8")
	_, err = q.columnIndexes([]string{"l"})
	assert.ErrorContains(t, err, `no column "v"`)
	pick, err := q.columnIndexes([]string{"x", "v", "l"})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 1}, pick)
}
