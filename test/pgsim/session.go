package pgsim

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// Timeouts of a connection: the whole opening, and how long a session
// may sit idle (the operator's last no longer than a call).
const (
	startupTimeout = 10 * time.Second
	idleTimeout    = 10 * time.Minute
)

// session is one client connection.
type session struct {
	srv     *Server
	raw     net.Conn // the TCP connection: its local address is the member's
	conn    net.Conn // raw, or TLS over it
	tlsConn *tls.Conn
	r       *bufio.Reader
	w       writer

	params         map[string]string // of the startup packet
	user, database string
	cluster        string // from the TLS server name; "" in plain text
	member         *member
	counted        bool // counted in member.sessions
	pid            int

	tx         *transaction // nil outside a transaction block
	statements map[string]*prepared
	portals    map[string]*portal
	skipToSync bool // after an error in the extended protocol
}

// transaction is an open transaction block.
type transaction struct {
	cat      *catalog // the block's copy of the catalog
	readOnly bool
	failed   bool
}

func newSession(srv *Server, c net.Conn) *session {
	return &session{srv: srv, raw: c, conn: c, r: bufio.NewReader(c), params: map[string]string{},
		pid: int(srv.nextPID.Add(1)), statements: map[string]*prepared{}, portals: map[string]*portal{}}
}

func (s *session) serve() error {
	defer s.leave()
	_ = s.raw.SetDeadline(time.Now().Add(startupTimeout))
	if err := s.startup(); err != nil {
		return err
	}
	for {
		_ = s.raw.SetDeadline(time.Now().Add(idleTimeout))
		typ, body, err := readMessage(s.r)
		if err != nil {
			return err
		}
		if typ == 'X' {
			return nil
		}
		if err := s.dispatch(typ, body); err != nil {
			return err
		}
	}
}

func (s *session) leave() {
	if s.counted {
		s.member.mu.Lock()
		s.member.sessions--
		s.member.mu.Unlock()
	}
}

// dispatch handles one message of the simple or extended protocol.
func (s *session) dispatch(typ byte, body []byte) error {
	if s.skipToSync && typ != 'S' {
		return nil // the extended protocol discards until Sync after an error
	}
	switch typ {
	case 'Q':
		r := &reader{b: body}
		s.simpleQuery(r.cstring())
		return s.flush()
	case 'P':
		s.parse(body)
	case 'B':
		s.bind(body)
	case 'D':
		s.describe(body)
	case 'E':
		s.execute(body)
	case 'C':
		s.closeStatement(body)
	case 'S':
		s.skipToSync = false
		s.ready()
		return s.flush()
	case 'H':
		return s.flush()
	default:
		return s.fatal(sqlError(codeProtocolViolation, "invalid frontend message type %d", typ))
	}
	return nil
}

// reportError sends an ErrorResponse. As in PostgreSQL, any error inside
// a transaction block aborts it: everything but ROLLBACK is refused until
// it ends.
func (s *session) reportError(err error) {
	s.w.writeError(asPgError(err))
	if s.tx != nil {
		s.tx.failed = true
	}
}

// ready sends ReadyForQuery with the transaction status.
func (s *session) ready() {
	status := byte('I')
	switch {
	case s.tx != nil && s.tx.failed:
		status = 'E'
	case s.tx != nil:
		status = 'T'
	}
	s.w.begin('Z')
	s.w.buf = append(s.w.buf, status)
	s.w.end()
}

func (s *session) flush() error { return s.w.flushTo(s.conn) }

// quietError: the ways a client hangs up that are not worth a log line.
func quietError(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, errCancel) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}
