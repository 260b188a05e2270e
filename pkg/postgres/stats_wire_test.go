package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Stats hands lib/pq a context it cannot see cancelled (no watcher
// goroutines): closing the socket must still end a read of a frozen
// server at the call's deadline, and at once when the caller gives up.
func TestStatsOfAFrozenServerEnd(t *testing.T) {
	frozen := func(c net.Conn) {
		if readStartup(c) != nil {
			return
		}
		_, _ = c.Write(authOK)
		_, _ = io.Copy(io.Discard, c)
	}
	ep := wireServer(t, frozen)
	start := time.Now()
	_, err := NewWithTimeouts(fastTimeouts).Stats(context.Background(), ep, 150000)
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.True(t, IsUnreachable(err), "%v", err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, elapsed, 5*time.Second, "connect (1s) + statement (1s) + 1s, on a loaded machine")

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	_, err = NewWithTimeouts(fastTimeouts).Stats(ctx, wireServer(t, frozen), 150000)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.Less(t, time.Since(start), 2*time.Second, "not the call's deadline")
}
