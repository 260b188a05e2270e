package postgres

import (
	"context"
	"net"
	"sync"
	"time"
)

// socketDialer dials one connection's TCP socket and keeps hold of it: the
// call's deadline closes it (client.run), and the pool checks it is still
// open before reuse (alive). lib/pq dials its cancel requests with the
// same dialer; those sockets are left alone (it bounds them with
// connect_timeout) so a cancel can still reach a live server.
type socketDialer struct {
	userTimeout time.Duration // TCP_USER_TIMEOUT; 0: the kernel's default
	d           net.Dialer

	mu   sync.Mutex
	conn net.Conn // the connection's own socket: the first one dialed
}

func (s *socketDialer) Dial(network, address string) (net.Conn, error) {
	return s.DialContext(context.Background(), network, address)
}

func (s *socketDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.DialContext(ctx, network, address)
}

func (s *socketDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := s.d
	d.Control = userTimeoutControl(s.userTimeout) // socket_linux.go
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.conn == nil {
		s.conn = conn
	}
	s.mu.Unlock()
	return conn, nil
}

// close closes the connection's socket, so that whatever waits on it fails
// at once.
func (s *socketDialer) close() {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// alive reports whether the socket is open with nothing to read: an idle
// PostgreSQL connection receives nothing until it sends a query, so data
// waiting (a FATAL before the server closed it) or the end of the stream
// means the server is gone. It does not wait and reads nothing.
func (s *socketDialer) alive() bool {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	return c != nil && peekIdle(c) // socket_linux.go
}
