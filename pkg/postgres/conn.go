package postgres

import (
	"context"
	"database/sql"
	"time"
)

// Timeouts bound every call so that a dead or hung member costs a reconcile
// pass seconds, not minutes.
type Timeouts struct {
	// Connect bounds TCP connect plus authentication (lib/pq's
	// connect_timeout, whole seconds), and how long sent data may go
	// unacknowledged by the peer's TCP before the socket is given up
	// (TCP_USER_TIMEOUT), so a reused connection to a vanished member
	// fails as fast as a new one would.
	Connect time.Duration
	// Statement is the server-side statement_timeout of each statement, and
	// with Connect the client-side deadline of the whole call.
	Statement time.Duration
	// Checkpoint replaces Statement for Checkpoint, which may legitimately
	// take long on a busy server.
	Checkpoint time.Duration
	// Reuse is how long after it was opened a connection is reused for
	// the following calls (pool.go); negative: a new connection for every
	// call.
	Reuse time.Duration
}

// DefaultTimeouts are what New uses. Reuse outlasts the longest gap between
// two calls to a member in the steady state (a pass every 10 s, statistics
// every 30 s), and bounds how long a kept session can hide a change made
// behind the operator's back, such as the superuser's password changed by
// hand, from the login check of every pass (observe_credentials.go).
var DefaultTimeouts = Timeouts{Connect: 2 * time.Second, Statement: 5 * time.Second, Checkpoint: time.Minute, Reuse: time.Minute}

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
	if t.Reuse == 0 {
		t.Reuse = DefaultTimeouts.Reuse
	}
	return &client{timeouts: t, pool: newPool(t.Reuse), opener: newOpener()}
}

// client holds its timeouts and the idle connections kept for reuse;
// safe for concurrent use.
type client struct {
	timeouts Timeouts
	pool     *pool
	opener   *sql.DB // opener.go
}

// withConn runs fn on a connection to ep: the one kept from the last call
// with the same endpoint and budget if it is still open, else a new one.
// fn must leave the session as it found it (no SET, no open transaction);
// calls that change session state or run someone else's SQL use
// withOwnConn. Why reuse at all: a new connection costs a TLS handshake and
// a SCRAM exchange, milliseconds of the operator's CPU, which made up most
// of its steady-state work at every pass of every member (pool.go).
//
// budget is the statement_timeout; the whole call, connecting included, gets
// a hard deadline of Connect + budget + 1s, enforced by closing the socket,
// because lib/pq would otherwise wait on a silent peer for as long as TCP
// does.
func (c *client) withConn(ctx context.Context, ep Endpoint, op string, budget time.Duration, fn func(context.Context, *sql.Conn) error) error {
	return c.call(ctx, ep, op, budget, true, fn)
}

// withOwnConn is withConn on a new connection, closed after the call.
func (c *client) withOwnConn(ctx context.Context, ep Endpoint, op string, budget time.Duration, fn func(context.Context, *sql.Conn) error) error {
	return c.call(ctx, ep, op, budget, false, fn)
}

func (c *client) call(ctx context.Context, ep Endpoint, op string, budget time.Duration, reuse bool, fn func(context.Context, *sql.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeouts.Connect+budget+time.Second)
	defer cancel()
	if err := c.run(ctx, ep, budget, reuse, fn); err != nil {
		return newError(op, ep, ctx, err)
	}
	return nil
}

func (c *client) run(ctx context.Context, ep Endpoint, budget time.Duration, reuse bool, fn func(context.Context, *sql.Conn) error) error {
	key, dsn := connString(ep, c.timeouts.Connect, budget)
	var pc *pooledConn
	if reuse {
		pc = c.pool.take(key)
	}
	var err error
	if pc == nil {
		pc, err = c.open(ctx, dsn.String())
	}
	dsnBuffers.Put(dsn)
	if err != nil {
		return err
	}
	// Closing the socket when the call's context ends is what bounds a
	// call against a partitioned or frozen server: lib/pq reacts to a
	// cancelled context only by sending a cancel request, then keeps
	// waiting for the server's answer.
	stop := context.AfterFunc(ctx, pc.sock.close)
	err = fn(ctx, pc.conn)
	if stopped := stop(); !stopped || err != nil || !reuse {
		pc.close() // the socket was closed, or the session is in doubt
		return err
	}
	c.pool.put(key, pc)
	return nil
}

// open connects anew.
func (c *client) open(ctx context.Context, dsn string) (*pooledConn, error) {
	sock := &socketDialer{userTimeout: c.timeouts.Connect}
	req := &openRequest{dsn: dsn, sock: sock}
	conn, err := c.opener.Conn(context.WithValue(ctx, openRequestKey{}, req))
	if err != nil {
		return nil, err
	}
	return &pooledConn{conn: conn, sock: sock, opened: time.Now()}, nil
}
