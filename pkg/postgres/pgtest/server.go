package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// ReplicationUser is the role standbys stream as.
const ReplicationUser = "replicator"

// Timings records how long the slow steps took, for reporting floors.
type Timings struct {
	InitDB     time.Duration
	BaseBackup time.Duration
	Start      time.Duration // process start until it accepts connections (last start)
}

// Server is one PostgreSQL instance listening on 127.0.0.1:Port.
type Server struct {
	Name     string // also its cluster_name, hence a standby's application_name
	Port     int
	Password string // of the superuser "postgres"; has spaces, quotes and a backslash on purpose
	DataDir  string
	LogFile  string
	Timings  Timings

	replPassword string
	env          *env
	dir          string
	cmd          *exec.Cmd
	exited       chan struct{}
}

// NewPrimary initdbs and starts a primary, with a ReplicationUser role for
// standbys to stream as.
func NewPrimary(t testing.TB, name string) *Server {
	t.Helper()
	s := newServer(t, name, newEnv(t))
	s.Password = "su 'pw\" " + randomHex(t) + ` \`
	s.replPassword = randomHex(t)
	pwfile := filepath.Join(s.dir, "pwfile")
	s.env.writeFile(t, pwfile, s.Password+"\n")
	// -N (no fsync) and fsync=off below: durability is not under test, speed is.
	s.Timings.InitDB = s.env.run(t, s.dir, "initdb", nil, "-D", s.DataDir, "-U", "postgres",
		"--pwfile="+pwfile, "--auth=scram-sha-256", "--data-checksums", "-E", "UTF8", "--locale=C", "-N")
	_ = os.Remove(pwfile)
	s.configure(t)
	s.Start(t)
	s.Exec(t, fmt.Sprintf("CREATE ROLE %s LOGIN REPLICATION PASSWORD %s",
		ReplicationUser, pq.QuoteLiteral(s.replPassword)))
	t.Logf("pgtest: primary %s on port %d: initdb %v, start %v", name, s.Port, s.Timings.InitDB, s.Timings.Start)
	return s
}

// NewStandby clones p with pg_basebackup -R into a streaming standby that
// uses the physical slot postgres.SlotName(name), starts it, and waits until
// p reports it streaming.
func (p *Server) NewStandby(t testing.TB, name string) *Server {
	t.Helper()
	s := newServer(t, name, p.env)
	s.Password, s.replPassword = p.Password, p.replPassword
	s.Timings.BaseBackup = s.env.run(t, s.dir, "pg_basebackup", []string{"PGPASSWORD=" + p.replPassword},
		"-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", ReplicationUser, "-w",
		"-D", s.DataDir, "-R", "-X", "stream", "-C", "-S", postgres.SlotName(name), "-c", "fast", "-N")
	s.configure(t) // overrides the primary's port, socket dir and name copied with the data
	s.Start(t)
	p.WaitStreaming(t, name)
	t.Logf("pgtest: standby %s on port %d: pg_basebackup %v, start %v", name, s.Port, s.Timings.BaseBackup, s.Timings.Start)
	return s
}

func newServer(t testing.TB, name string, e *env) *Server {
	t.Helper()
	s := &Server{Name: name, Port: FreePort(t), env: e}
	s.dir = e.mkdir(t, "pgtest-"+name+"-")
	s.DataDir = filepath.Join(s.dir, "data")
	s.LogFile = filepath.Join(s.dir, "server.log")
	// Registered after mkdir's cleanup, so it runs first: stop, then delete.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgtest: last lines of %s's log:\n%s", s.Name, s.LogTail(30))
		}
		s.stop()
	})
	return s
}

// configure appends this server's own settings; later lines win, which is
// what overrides the primary's settings in a fresh standby's copy.
func (s *Server) configure(t testing.TB) {
	appendFile(t, filepath.Join(s.DataDir, "postgresql.conf"), fmt.Sprintf(`
# pgtest
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
cluster_name = '%s'
fsync = off
log_line_prefix = '%%m [%%p] %%q%%a '
`, s.Port, s.dir, s.Name))
}

// Start starts the server and waits until it accepts connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if s.cmd != nil {
		t.Fatalf("pgtest: %s already running", s.Name)
	}
	log, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer log.Close() // the child keeps its own descriptor
	cmd := s.env.command(s.dir, "postgres", nil, "-D", s.DataDir)
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("pgtest: start %s: %v", s.Name, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(s.exited)

	Eventually(t, time.Minute, s.Name+" to accept connections", func() (bool, error) {
		select {
		case <-s.exited:
			t.Fatalf("pgtest: %s exited during startup:\n%s", s.Name, tail(s.LogFile, 20))
		default:
		}
		err := s.ping()
		return err == nil, err
	})
	s.Timings.Start = time.Since(start)
}

// Stop shuts the server down ("fast": disconnect clients, checkpoint) and
// waits until the process has exited.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.cmd == nil {
		t.Fatalf("pgtest: %s is not running", s.Name)
	}
	if !s.stop() {
		t.Fatalf("pgtest: %s did not shut down cleanly", s.Name)
	}
}

// stop signals our own postmaster by PID, escalating from fast shutdown to
// immediate shutdown to SIGKILL. It reports whether fast shutdown sufficed.
func (s *Server) stop() bool {
	if s.cmd == nil {
		return true
	}
	defer func() { s.cmd = nil }()
	for i, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		_ = s.cmd.Process.Signal(sig)
		select {
		case <-s.exited:
			return i == 0
		case <-time.After(30 * time.Second):
		}
	}
	return false
}

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string { return tail(s.LogFile, n) }

// Running reports whether the server process is up.
func (s *Server) Running() bool { return s.cmd != nil }

// Endpoint is how the operator would reach this server: as the superuser.
func (s *Server) Endpoint() postgres.Endpoint {
	return postgres.Endpoint{Host: "127.0.0.1", Port: s.Port, User: "postgres", Password: s.Password}
}

// DB opens a small connection pool to the server as the superuser, closed
// at the end of the test. Use it for test setup and checks, not for what is
// under test.
func (s *Server) DB(t testing.TB) *sql.DB {
	t.Helper()
	db := s.open(s.Endpoint())
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Connect opens a connection as user and returns the error, if any; it
// tests logins.
func (s *Server) Connect(user, password string) error {
	ep := s.Endpoint()
	ep.User, ep.Password = user, password
	db := s.open(ep)
	defer db.Close()
	return db.Ping()
}

func (s *Server) open(ep postgres.Endpoint) *sql.DB {
	// Config fields rather than a DSN: nothing to quote.
	cfg, err := pq.NewConfig("sslmode=disable connect_timeout=5")
	if err != nil {
		panic(err)
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = ep.Host, uint16(ep.Port), ep.User, ep.Password, "postgres"
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		panic(err)
	}
	return sql.OpenDB(connector)
}

func (s *Server) ping() error {
	db := s.open(s.Endpoint())
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// Exec runs a statement as the superuser and fails the test on error.
func (s *Server) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	db := s.open(s.Endpoint())
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("pgtest: %s: %s: %v", s.Name, query, err)
	}
}

// Query returns the first column of the first row as text.
func (s *Server) Query(t testing.TB, query string, args ...any) string {
	t.Helper()
	v, err := s.QueryErr(query, args...)
	if err != nil {
		t.Fatalf("pgtest: %s: %s: %v", s.Name, query, err)
	}
	return v
}

// QueryErr is Query for use inside Eventually.
func (s *Server) QueryErr(query string, args ...any) (string, error) {
	db := s.open(s.Endpoint())
	defer db.Close()
	var v sql.NullString
	err := db.QueryRow(query, args...).Scan(&v)
	return v.String, err
}

// WaitStreaming waits until this server's pg_stat_replication shows the
// standby named standby streaming.
func (s *Server) WaitStreaming(t testing.TB, standby string) {
	t.Helper()
	Eventually(t, time.Minute, standby+" streaming from "+s.Name, func() (bool, error) {
		state, err := s.QueryErr(`SELECT state FROM pg_stat_replication WHERE application_name = $1`, standby)
		return state == "streaming", err
	})
}

func randomHex(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return hex.EncodeToString(b)
}
