package pgsim

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is what a Server needs.
type Config struct {
	// CA finds each cluster's CA, from which the server certificates are
	// issued. Nil: no TLS (SSLRequest is answered 'N').
	CA CASource
	// ServerVersion is what the members report, "15.10" by default.
	ServerVersion string
	// Log receives connection failures and unknown queries; nil discards.
	Log *slog.Logger
	// Now is the clock (time.Now by default).
	Now func() time.Time
}

// Server answers the PostgreSQL protocol for every simulated member.
type Server struct {
	cfg        Config
	versionNum int
	tls        *tls.Config
	members    *members
	drift      drift
	matches    memo[matched]  // statement text → handler
	splits     memo[[]string] // simple query string → its statements

	nextPID     atomic.Int32
	connections atomic.Int64 // accepted, ever
	statements  atomic.Int64 // executed, ever

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
}

// New returns a Server; Serve starts it.
func New(cfg Config) *Server {
	if cfg.ServerVersion == "" {
		cfg.ServerVersion = "15.10"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, versionNum: versionNum(cfg.ServerVersion), conns: map[net.Conn]struct{}{},
		members: &members{all: map[string]*member{}, now: cfg.Now}}
	s.drift.log = cfg.Log
	if cfg.CA != nil {
		s.tls = serverTLSConfig(newCertCache(cfg.CA, cfg.Now))
	}
	s.nextPID.Store(1000)
	return s
}

// versionNum turns "15.10" into server_version_num, 150010.
func versionNum(v string) int {
	major, minor, _ := strings.Cut(v, ".")
	ma, _ := strconv.Atoi(major)
	mi, _ := strconv.Atoi(minor)
	return ma*10000 + mi
}

// Serve accepts connections on ln until it is closed (or Close is called).
// Every address routed to ln's socket is a member: on 0.0.0.0 in a network
// namespace that owns the pods' range, each pod IP.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		_ = ln.Close()
		return net.ErrClosed
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		if !s.trackConn(c, true) {
			_ = c.Close()
			continue
		}
		s.connections.Add(1)
		go s.handle(c)
	}
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners = append(s.listeners, ln)
	return true
}

func (s *Server) trackConn(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		s.wg.Done()
		return true
	}
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) handle(c net.Conn) {
	defer s.trackConn(c, false)
	defer c.Close()
	sess := newSession(s, c)
	if err := sess.serve(); err != nil && !quietError(err) {
		s.cfg.Log.Debug("connection ended", "remote", c.RemoteAddr().String(), "local", c.LocalAddr().String(), "err", err)
	}
}

// Close stops the listeners, closes every connection and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Stats counts what the server did, for the bench's report and /metrics.
type Stats struct {
	Connections int64
	Statements  int64
	// Unknown counts the statements no handler answers (SQLSTATE 0A000),
	// by their first 60 characters: the operator's SQL drifted from
	// queries.go.
	Unknown map[string]int64
	// Simulated counts the statements of user scripts run without effect
	// (see scriptStatement).
	Simulated int64
}

func (s *Server) Stats() Stats {
	unknown, simulated := s.drift.snapshot()
	return Stats{Connections: s.connections.Load(), Statements: s.statements.Load(), Unknown: unknown, Simulated: simulated}
}
