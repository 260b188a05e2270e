package postgres

import (
	"context"
	"database/sql"
	"net"
	"time"

	"github.com/lib/pq"
)

// Timeouts bound every call so that a dead or hung member costs a reconcile
// pass seconds, not minutes.
type Timeouts struct {
	// Connect bounds TCP connect plus authentication (lib/pq's
	// connect_timeout, whole seconds).
	Connect time.Duration
	// Statement is the server-side statement_timeout of each statement, and
	// with Connect the client-side deadline of the whole call.
	Statement time.Duration
	// Checkpoint replaces Statement for Checkpoint, which may legitimately
	// take long on a busy server.
	Checkpoint time.Duration
}

// DefaultTimeouts are what New uses.
var DefaultTimeouts = Timeouts{Connect: 2 * time.Second, Statement: 5 * time.Second, Checkpoint: time.Minute}

// New returns the real Client, with DefaultTimeouts.
func New() Client { return NewWithTimeouts(DefaultTimeouts) }

// NewWithTimeouts returns the real Client with the given timeouts; zero
// fields take their default.
func NewWithTimeouts(t Timeouts) Client {
	if t.Connect <= 0 {
		t.Connect = DefaultTimeouts.Connect
	}
	if t.Statement <= 0 {
		t.Statement = DefaultTimeouts.Statement
	}
	if t.Checkpoint <= 0 {
		t.Checkpoint = DefaultTimeouts.Checkpoint
	}
	return &client{timeouts: t}
}

// client is stateless apart from its timeouts, hence safe for concurrent use.
type client struct {
	timeouts Timeouts
}

// withConn opens one connection to ep, runs fn on it and closes it.
//
// Why a connection per call rather than a pool: the operator may manage
// thousands of clusters but talks to each member only every few seconds. A
// fresh connection costs a TCP handshake, a SCRAM exchange and a backend fork
// (milliseconds), which is nothing at that rate. A pool would instead pin an
// idle backend, and a max_connections slot, on every member; it would have to
// be invalidated when a pod IP is reused by another member or the password
// rotates; and it would hand out dead connections after a failover. Per-call
// connections have nothing to invalidate and nothing to leak.
//
// budget is the statement_timeout; the whole call, connecting included, gets
// a hard deadline of Connect + budget + 1s, enforced by closing the socket
// (see deadlineDialer), because lib/pq would otherwise wait on a silent peer
// for as long as TCP does.
func (c *client) withConn(ctx context.Context, ep Endpoint, op string, budget time.Duration, fn func(context.Context, *sql.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeouts.Connect+budget+time.Second)
	defer cancel()
	if err := c.run(ctx, ep, budget, fn); err != nil {
		return newError(op, ep, ctx, err)
	}
	return nil
}

func (c *client) run(ctx context.Context, ep Endpoint, budget time.Duration, fn func(context.Context, *sql.Conn) error) error {
	connector, err := pq.NewConnector(ep.dsn(c.timeouts.Connect, budget))
	if err != nil {
		return err
	}
	connector.Dialer(deadlineDialer{callCtx: ctx})
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return fn(ctx, conn)
}

// deadlineDialer closes each connection it dials when the call's context
// ends. lib/pq reacts to a cancelled context only by sending a cancel
// request and then keeps waiting for the server's answer; against a
// partitioned or frozen server that wait is unbounded. Closing the socket
// makes the pending read fail at once.
//
// lib/pq dials that cancel request with the same dialer after the context
// ended; those connections are left alone (lib/pq bounds them with
// connect_timeout) so the cancel can still reach a live server.
type deadlineDialer struct {
	callCtx context.Context
	d       net.Dialer
}

func (d deadlineDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d deadlineDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d deadlineDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := d.d.DialContext(ctx, network, address)
	if err != nil || d.callCtx.Err() != nil {
		return conn, err // failed, or a cancel request for a call that already ended
	}
	stop := context.AfterFunc(d.callCtx, func() { _ = conn.Close() })
	return &stoppingConn{Conn: conn, stop: stop}, nil
}

// stoppingConn unregisters the deadline callback when closed normally.
type stoppingConn struct {
	net.Conn
	stop func() bool
}

func (c *stoppingConn) Close() error {
	c.stop()
	return c.Conn.Close()
}
