package pgsim

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
)

// Codes of the packets a client may open with (they take the place of a
// protocol version in the startup packet).
const (
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
	codeCancelRequest = 80877102
	protocol30        = 3 << 16
)

// errCancel ends a connection that carried a cancel request: the
// simulator's statements finish in microseconds, so there is never
// anything to cancel.
var errCancel = errors.New("cancel request")

// startup runs the connection's opening: SSL/GSS negotiation, the startup
// packet, then logs the user in.
func (s *session) startup() error {
	for {
		body, code, err := s.readStartupPacket()
		if err != nil {
			return err
		}
		switch code {
		case codeSSLRequest:
			if err := s.negotiateTLS(); err != nil {
				return err
			}
		case codeGSSENCRequest:
			if _, err := s.conn.Write([]byte{'N'}); err != nil {
				return err
			}
		case codeCancelRequest:
			return errCancel
		default:
			return s.login(body, code)
		}
	}
}

// readStartupPacket reads the untyped, length-prefixed packet; code is its
// first word (a protocol version or a request code).
func (s *session) readStartupPacket() ([]byte, int, error) {
	var head [8]byte
	if _, err := io.ReadFull(s.r, head[:]); err != nil {
		return nil, 0, err
	}
	n := int(binary.BigEndian.Uint32(head[:4]))
	if n < 8 || n > 10000 {
		return nil, 0, fmt.Errorf("startup packet of bad length %d", n)
	}
	body := make([]byte, n-8)
	_, err := io.ReadFull(s.r, body)
	return body, int(binary.BigEndian.Uint32(head[4:])), err
}

// negotiateTLS answers an SSLRequest: 'S' and a TLS handshake when the
// server has certificates, else 'N' (the client then decides).
func (s *session) negotiateTLS() error {
	if s.srv.tls == nil || s.tlsConn != nil {
		_, err := s.conn.Write([]byte{'N'})
		return err
	}
	if s.r.Buffered() > 0 {
		// Bytes after the request would be read as plain text: a
		// man-in-the-middle trick PostgreSQL refuses too (CVE-2021-23214).
		return errors.New("data received before the TLS handshake")
	}
	if _, err := s.conn.Write([]byte{'S'}); err != nil {
		return err
	}
	tc := tls.Server(s.conn, s.srv.tls)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	s.tlsConn = tc
	s.conn = tc
	s.r = bufio.NewReader(tc)
	s.cluster = clusterOf(tc.ConnectionState().ServerName)
	return nil
}

// login reads the startup packet's parameters and, since the simulation
// does not check credentials, logs the user in at once (as "trust" in
// pg_hba.conf would): the operator's password and client certificate are
// not verified. The certificate is still requested, as a member asks for
// it, so the client goes through the same TLS exchange.
func (s *session) login(body []byte, version int) error {
	if version>>16 != 3 {
		return s.fatal(sqlError(codeFeatureNotSupported, "unsupported frontend protocol %d.%d", version>>16, version&0xFFFF))
	}
	if err := s.readStartupParams(body); err != nil {
		return s.fatal(sqlError(codeProtocolViolation, "invalid startup packet: %v", err))
	}
	if version&0xFFFF != 0 {
		s.w.begin('v') // NegotiateProtocolVersion: 3.0 is all there is here
		s.w.int32(0)
		s.w.int32(0)
		s.w.end()
	}
	s.member = s.srv.members.get(s.cluster, localIP(s.raw))
	if err := s.checkDatabase(); err != nil {
		return s.fatal(err)
	}
	s.greet()
	return s.flush()
}

func (s *session) readStartupParams(body []byte) error {
	r := &reader{b: body}
	for {
		k := r.cstring()
		if r.err != nil {
			return r.err
		}
		if k == "" {
			break
		}
		v := r.cstring()
		s.params[k] = v
	}
	s.user, s.database = s.params["user"], s.params["database"]
	if s.database == "" {
		s.database = s.user
	}
	if s.user == "" {
		return errors.New("no PostgreSQL user name specified in startup packet")
	}
	return nil
}

// checkDatabase refuses a database that does not exist, or takes no
// connections, as the server does at login.
func (s *session) checkDatabase() *pgError {
	m := s.member
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.cat.databases[s.database]
	switch {
	case d == nil:
		return &pgError{severity: "FATAL", code: codeInvalidCatalogName, msg: fmt.Sprintf("database %q does not exist", s.database)}
	case !d.allowConn:
		return &pgError{severity: "FATAL", code: codeNotInPrereqState, msg: fmt.Sprintf("database %q is not currently accepting connections", s.database)}
	}
	m.sessions++
	s.counted = true
	return nil
}

// greet sends AuthenticationOk, the parameters a server reports at login,
// the cancel key, and ReadyForQuery.
func (s *session) greet() {
	s.w.begin('R')
	s.w.int32(0) // AuthenticationOk
	s.w.end()
	for _, p := range [][2]string{
		{"server_version", s.srv.cfg.ServerVersion}, {"server_encoding", "UTF8"}, {"client_encoding", "UTF8"},
		{"DateStyle", "ISO, MDY"}, {"IntervalStyle", "postgres"}, {"integer_datetimes", "on"},
		{"standard_conforming_strings", "on"}, {"TimeZone", "UTC"}, {"is_superuser", "on"},
		{"session_authorization", s.user}, {"application_name", s.params["application_name"]},
		{"default_transaction_read_only", "off"}, {"in_hot_standby", "off"},
	} {
		s.w.begin('S')
		s.w.cstring(p[0])
		s.w.cstring(p[1])
		s.w.end()
	}
	s.w.begin('K')
	s.w.int32(s.pid)
	s.w.int32(s.pid * 7919) // the cancel key: never checked, see errCancel
	s.w.end()
	s.ready()
}

// fatal reports err and ends the connection.
func (s *session) fatal(err *pgError) error {
	err.severity = "FATAL"
	s.w.writeError(err)
	_ = s.flush()
	return err
}

// localIP is the address the client reached: the simulated pod's IP.
func localIP(c net.Conn) string {
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.LocalAddr().String())
	if err != nil {
		return c.LocalAddr().String()
	}
	return host
}
