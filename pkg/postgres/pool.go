package postgres

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"sync"
	"time"
)

// The operator talks to each member every few seconds (a probe per pass,
// statistics, the odd change). With TLS and SCRAM, opening a connection
// costs the operator milliseconds of CPU, far more than the statement it
// runs; at thousands of members that was most of its work. So each call
// leaves its connection behind for the next call to the same endpoint.
//
// What reuse must not change:
//   - a stale connection is never handed out: a member that restarted,
//     failed over or went away has closed it (or sent a FATAL before
//     closing), which take sees without a round trip (socket.alive);
//   - a vanished member fails a reused connection as fast as a new one:
//     TCP_USER_TIMEOUT (Timeouts.Connect) gives up on data its TCP does not
//     acknowledge, and the call's deadline still closes the socket;
//   - the key is the whole connection string (address, user, password,
//     certificates, statement_timeout): a rotated password, a renewed
//     certificate or a reused pod address never meets an old connection;
//   - sessions stay clean: calls that SET or run administrators' SQL use
//     their own connection (withOwnConn), and any error discards the
//     connection it happened on.
//
// The cost: one idle backend per member (one of its max_connections).
// A connection is reused until it is Timeouts.Reuse old, so a kept session
// hides a password changed behind the operator's back for that long at
// most.

// pool keeps at most one idle connection per key.
type pool struct {
	maxAge time.Duration // < 0: keep nothing
	mu     sync.Mutex
	idle   map[[32]byte]*pooledConn
	swept  time.Time
}

type pooledConn struct {
	conn   *sql.Conn // opened through the client's shared sql.DB (opener.go)
	sock   *socketDialer
	opened time.Time
}

func newPool(maxAge time.Duration) *pool {
	return &pool{maxAge: maxAge, idle: map[[32]byte]*pooledConn{}}
}

// connString writes ep's connection string into a buffer from dsnBuffers
// and returns its digest, the pool's key: digested, so the pool holds no
// password. The caller puts the buffer back once it has opened, if it had
// to, with the string.
func connString(ep Endpoint, connectTimeout, statementTimeout time.Duration) ([32]byte, *bytes.Buffer) {
	b := dsnBuffers.Get().(*bytes.Buffer)
	b.Reset()
	ep.writeDSN(b, connectTimeout, statementTimeout)
	return sha256.Sum256(b.Bytes()), b
}

// dsnBuffers keep a connection string's buffer from one call to the next.
var dsnBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// take removes and returns the key's idle connection if it is still open
// and young enough; nil otherwise.
func (p *pool) take(key [32]byte) *pooledConn {
	if p.maxAge < 0 {
		return nil
	}
	now := time.Now()
	p.mu.Lock()
	pc := p.idle[key]
	delete(p.idle, key)
	expired := p.sweep(now)
	p.mu.Unlock()
	closeAll(expired)
	if pc != nil && (now.Sub(pc.opened) > p.maxAge || !pc.sock.alive()) {
		pc.close()
		return nil
	}
	return pc
}

// put keeps pc for the next call with key, unless one is kept already.
func (p *pool) put(key [32]byte, pc *pooledConn) {
	if p.maxAge < 0 {
		pc.close()
		return
	}
	p.mu.Lock()
	_, full := p.idle[key]
	if !full {
		p.idle[key] = pc
	}
	p.mu.Unlock()
	if full {
		pc.close()
	}
}

// sweep removes the connections older than maxAge, at most twice per
// maxAge, and returns them to be closed outside the lock. p.mu is held.
func (p *pool) sweep(now time.Time) []*pooledConn {
	if now.Sub(p.swept) < p.maxAge/2 {
		return nil
	}
	p.swept = now
	var out []*pooledConn
	for k, pc := range p.idle {
		if now.Sub(pc.opened) > p.maxAge {
			out = append(out, pc)
			delete(p.idle, k)
		}
	}
	return out
}

// size is how many connections are kept (for tests).
func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

func closeAll(pcs []*pooledConn) {
	for _, pc := range pcs {
		pc.close()
	}
}

func (pc *pooledConn) close() {
	_ = pc.conn.Close() // and so the driver's connection: the sql.DB keeps none
}
