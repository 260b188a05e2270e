package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests speak just enough of the PostgreSQL wire protocol on loopback
// to check timeouts and error classification without a real server; the
// integration tests cover the real thing.

var fastTimeouts = Timeouts{Connect: time.Second, Statement: time.Second}

// wireServer accepts connections on 127.0.0.1 and hands each to handle.
func wireServer(t *testing.T, handle func(net.Conn)) Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); handle(c) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	addr := ln.Addr().(*net.TCPAddr)
	return Endpoint{Host: "127.0.0.1", Port: addr.Port, Password: "wire-secret"}
}

// readStartup reads the length-prefixed startup (or cancel) packet.
func readStartup(c net.Conn) error {
	var n uint32
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		return err
	}
	_, err := io.CopyN(io.Discard, c, int64(n)-4)
	return err
}

func message(typ byte, body []byte) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(body)+4))
	return append(b, body...)
}

func errorResponse(severity, code, msg string) []byte {
	var body []byte
	for _, f := range []struct {
		k byte
		v string
	}{{'S', severity}, {'V', severity}, {'C', code}, {'M', msg}} {
		body = append(append(append(body, f.k), f.v...), 0)
	}
	return message('E', append(body, 0))
}

// authOK logs the client in without a password and reports ready.
var authOK = append(message('R', []byte{0, 0, 0, 0}), message('Z', []byte{'I'})...)

func TestUnreachableClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())

	_, err = NewWithTimeouts(fastTimeouts).Probe(context.Background(), Endpoint{Host: "127.0.0.1", Port: port})
	require.Error(t, err)
	assert.True(t, IsUnreachable(err), "%v", err)
	assert.Contains(t, err.Error(), "connection refused")
}

func TestUnreachableSilentServer(t *testing.T) {
	// Accepts the TCP connection but never says a word.
	ep := wireServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	start := time.Now()
	_, err := NewWithTimeouts(fastTimeouts).Probe(context.Background(), ep)
	require.Error(t, err)
	assert.True(t, IsUnreachable(err), "%v", err)
	assert.Less(t, time.Since(start), 3*time.Second, "bounded by the connect timeout (1s), not by TCP")
	assert.NotContains(t, err.Error(), ep.Password)
}

func TestUnreachableServerHangsMidQuery(t *testing.T) {
	// Logs us in, then never answers the query nor the cancel request: a
	// frozen server. Only closing the socket ends the wait.
	ep := wireServer(t, func(c net.Conn) {
		if readStartup(c) != nil {
			return
		}
		_, _ = c.Write(authOK)
		_, _ = io.Copy(io.Discard, c)
	})
	start := time.Now()
	_, err := NewWithTimeouts(fastTimeouts).Probe(context.Background(), ep)
	elapsed := time.Since(start)
	require.Error(t, err)
	t.Logf("error: %v (after %v)", err, elapsed)
	assert.True(t, IsUnreachable(err), "%v", err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	// The call deadline is connect (1s) + statement (1s) + 1s; allow for a
	// loaded machine, the point is that it is not TCP's minutes.
	assert.Less(t, elapsed, 5*time.Second)
	assert.Greater(t, elapsed, 2*time.Second)
}

func TestStartupErrorsClassified(t *testing.T) {
	for code, want := range map[string]bool{
		"57P03": true,  // the database system is starting up
		"28P01": false, // password authentication failed
		"3D000": false, // database does not exist
	} {
		ep := wireServer(t, func(c net.Conn) {
			if readStartup(c) == nil {
				_, _ = c.Write(errorResponse("FATAL", code, "nope"))
			}
			_ = c.Close()
		})
		err := NewWithTimeouts(fastTimeouts).Reload(context.Background(), ep)
		require.Error(t, err, code)
		assert.Equal(t, want, IsUnreachable(err), "%s: %v", code, err)
		assert.Equal(t, code, SQLState(err))
		assert.NotContains(t, err.Error(), ep.Password)
	}
}

func TestCallerCancelIsNotUnreachable(t *testing.T) {
	ep := wireServer(t, func(c net.Conn) {
		if readStartup(c) != nil {
			return
		}
		_, _ = c.Write(authOK)
		_, _ = io.Copy(io.Discard, c)
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := NewWithTimeouts(fastTimeouts).Probe(ctx, ep)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.False(t, IsUnreachable(err))
}

func TestValidationHappensBeforeConnecting(t *testing.T) {
	c := NewWithTimeouts(fastTimeouts)
	ep := Endpoint{Host: "127.0.0.1", Port: 1} // never dialled: validation fails first
	ctx := context.Background()
	assert.ErrorContains(t, c.EnsureSlot(ctx, ep, "Bad-Name"), "invalid replication slot name")
	assert.ErrorContains(t, c.DropSlot(ctx, ep, ""), "invalid replication slot name")
	assert.ErrorContains(t, c.EnsureRole(ctx, ep, "", true, false), "invalid role name")
	assert.ErrorContains(t, c.SetPassword(ctx, ep, "app", "pässword"), "ASCII")
	_, err := c.SetParameters(ctx, ep, map[string]string{"x; DROP": "1"}, nil)
	assert.ErrorContains(t, err, "invalid parameter name")
}

func TestInvalidArgumentsAreErrors(t *testing.T) {
	err := NewWithTimeouts(fastTimeouts).DropSlot(context.Background(), Endpoint{Host: "127.0.0.1", Port: 1}, "a-b")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "drop slot", e.Op)
	assert.False(t, IsUnreachable(err))
}
