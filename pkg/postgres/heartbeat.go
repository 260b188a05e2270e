package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/lib/pq"
)

// HeartbeatApplicationName is the application_name of the operator's
// heartbeat connection. A primary's self-fencing probe (pkg/cluster,
// fence_probe.go) reads the state_change of the backend of that name in
// pg_stat_activity as "the operator saw me at": keep the two in step.
const HeartbeatApplicationName = "postgres-operator-heartbeat"

// Beat is the outcome of one heartbeat attempt.
type Beat struct {
	// Reached: the attempt had a TCP connection to the server, so the
	// server may have run the statement, and refreshed the backend's
	// state_change, whatever Err says (the answer may be what got lost).
	// An attempt that never connected cannot have touched the server.
	Reached bool
	Err     error
	// Took is how long the attempt ran: a failed beat says the server has
	// not answered since its start, Took before its report.
	Took time.Duration
}

// HeartbeatConfig says how often to beat and how long one beat may take.
type HeartbeatConfig struct {
	// Interval is the time between the starts of two beats.
	Interval time.Duration
	// Timeout bounds one beat: connecting, authenticating and the
	// statement. It is enforced on the socket, so a silent peer cannot
	// hold the heartbeat longer. (lib/pq counts its connect_timeout in
	// whole seconds: a beat that connects may take Timeout rounded up to
	// one.)
	Timeout time.Duration
	// Report receives each beat's outcome, on the heartbeat's goroutine.
	// It must not block.
	Report func(Beat)
}

// Heartbeat holds one connection to a server and runs a trivial statement
// on it every Interval, reconnecting after any error. It is the operator's
// side of a primary's self-fencing lease: the backend's
// pg_stat_activity.state_change proves that the operator reached the
// primary recently.
//
// One goroutine and one connection per heartbeat, and no pool: at a beat
// every few seconds a held connection costs one idle backend and no
// connection set-up per beat.
type Heartbeat struct {
	cfg    HeartbeatConfig
	ep     Endpoint
	stop   chan struct{}
	done   chan struct{}
	closer sync.Once

	mu    sync.Mutex
	sock  *heartbeatSocket // the connection's socket, nil between connections
	dials int              // sockets dialled (TCP connected) so far
}

// StartHeartbeat starts beating to ep until Close.
func StartHeartbeat(ep Endpoint, cfg HeartbeatConfig) *Heartbeat {
	if cfg.Report == nil {
		cfg.Report = func(Beat) {}
	}
	h := &Heartbeat{cfg: cfg, ep: ep, stop: make(chan struct{}), done: make(chan struct{})}
	go h.run()
	return h
}

// Close stops the heartbeat without waiting for it: a beat in flight is
// cut off by closing its socket, and the goroutine ends on its own right
// after (Done). It may be called more than once.
func (h *Heartbeat) Close() {
	h.closer.Do(func() {
		close(h.stop)
		h.mu.Lock()
		sock := h.sock
		h.mu.Unlock()
		if sock != nil {
			// The raw socket: the wrapper's Close takes h.mu itself.
			_ = sock.Conn.Close()
		}
	})
}

// Done is closed once the goroutine has ended and the connection is closed.
func (h *Heartbeat) Done() <-chan struct{} { return h.done }

func (h *Heartbeat) run() {
	defer close(h.done)
	var conn driver.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	connector, err := h.connector()
	ticker := time.NewTicker(h.cfg.Interval)
	defer ticker.Stop()
	for {
		beat := Beat{Err: err}
		if err == nil {
			start := time.Now()
			conn, beat = h.beat(connector, conn)
			beat.Took = time.Since(start)
		}
		if h.stopped() {
			return
		}
		h.cfg.Report(beat)
		select {
		case <-h.stop:
			return
		case <-ticker.C:
		}
	}
}

func (h *Heartbeat) stopped() bool {
	select {
	case <-h.stop:
		return true
	default:
		return false
	}
}

// connector logs in as the endpoint says, under HeartbeatApplicationName,
// through heartbeatDialer.
func (h *Heartbeat) connector() (*pq.Connector, error) {
	cfg, err := pq.NewConfig(h.ep.dsn(h.cfg.Timeout, h.cfg.Timeout))
	if err != nil {
		return nil, newError("heartbeat", h.ep, context.Background(), err)
	}
	cfg.ApplicationName = HeartbeatApplicationName
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, newError("heartbeat", h.ep, context.Background(), err)
	}
	connector.Dialer(heartbeatDialer{h: h})
	return connector, nil
}

// beat runs one statement on the held connection, connecting first when
// there is none, in a single attempt bounded by Timeout (database/sql
// would retry a bad connection, multiplying the bound). It returns the
// connection to hold, nil after an error: a connection that failed once
// may be dead or half-open. The context is never cancelled: lib/pq
// answers that by dialling a cancel request, which a partitioned server
// never answers; the socket deadline bounds the beat instead.
func (h *Heartbeat) beat(connector *pq.Connector, conn driver.Conn) (driver.Conn, Beat) {
	held, dials := h.armDeadline()
	var err error
	if conn == nil {
		if conn, err = connector.Connect(context.Background()); err != nil {
			conn = nil // lib/pq returns a typed nil
		}
	}
	if err == nil {
		err = execTrivial(conn)
	}
	reached := held || h.dialsSince(dials)
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return nil, Beat{Reached: reached, Err: newError("heartbeat", h.ep, context.Background(), err)}
	}
	return conn, Beat{Reached: true}
}

// execTrivial runs SELECT 1, which moves the backend's state_change.
func execTrivial(conn driver.Conn) error {
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		return errors.New("lib/pq connection cannot execute statements")
	}
	_, err := ex.ExecContext(context.Background(), "SELECT 1", nil)
	return err
}

// armDeadline gives the held connection, if any, Timeout for this beat.
// It reports whether there was one, and how many sockets were dialled so
// far.
func (h *Heartbeat) armDeadline() (held bool, dials int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sock != nil {
		_ = h.sock.SetDeadline(time.Now().Add(h.cfg.Timeout))
	}
	return h.sock != nil, h.dials
}

// dialsSince reports whether a socket was dialled since the count n.
func (h *Heartbeat) dialsSince(n int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dials > n
}

// heartbeatDialer dials the connection's socket with a deadline of
// Timeout, covering TLS and authentication too, and records it so that
// later beats can arm it and Close can cut it.
type heartbeatDialer struct{ h *Heartbeat }

func (d heartbeatDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialTimeout(network, address, d.h.cfg.Timeout)
}

func (d heartbeatDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	timeout = min(timeout, d.h.cfg.Timeout)
	conn, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(d.h.cfg.Timeout))
	s := &heartbeatSocket{Conn: conn, h: d.h}
	d.h.mu.Lock()
	defer d.h.mu.Unlock()
	if d.h.stopped() {
		_ = conn.Close()
		return nil, net.ErrClosed
	}
	d.h.sock = s
	d.h.dials++
	return s, nil
}

// heartbeatSocket forgets itself when lib/pq closes it.
type heartbeatSocket struct {
	net.Conn
	h *Heartbeat
}

func (s *heartbeatSocket) Close() error {
	s.h.mu.Lock()
	if s.h.sock == s {
		s.h.sock = nil
	}
	s.h.mu.Unlock()
	return s.Conn.Close()
}
