package pgtest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Eventually polls cond every 50ms until it returns true, and fails the
// test if that has not happened within timeout. The last error cond returned
// is reported, since "not yet" is usually explained by it.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		ok, err := cond()
		if ok && err == nil {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: timed out after %v waiting for %s (last error: %v)", timeout, what, lastErr)
		}
		<-tick.C
	}
}

var (
	portsMu sync.Mutex
	ports   = map[int]bool{} // handed out in this process, never again
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that no other caller in this test binary gets, so parallel tests do not
// race each other for it.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if !ports[port] {
			ports[port] = true
			return port
		}
	}
	t.Fatal("pgtest: no free port")
	return 0
}

// SilentListener accepts TCP connections on 127.0.0.1 and never sends a
// byte: a server that hangs before authentication. It returns the port.
func SilentListener(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
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
			go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, c) }()
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
	return ln.Addr().(*net.TCPAddr).Port
}
