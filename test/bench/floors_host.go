package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// hostFloor is one run of what a member does, done directly with the
// machine's PostgreSQL 15 binaries as the postgres OS user on loopback:
// no Kubernetes, no operator. initdb uses the member's flags (checksums,
// fsync on), so the comparison is like for like.
type hostFloor struct {
	initdb, start, basebackup, standbyStart, stop, promote time.Duration
}

// pgHost runs the PostgreSQL binaries as the postgres user.
type pgHost struct {
	bin      string
	uid, gid uint32
	dir      string
}

func newPGHost(bin string) (*pgHost, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("the host floors need the postgres OS user: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	dir, err := os.MkdirTemp("", "bench-floor-")
	if err != nil {
		return nil, err
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, err
	}
	return &pgHost{bin: bin, uid: uint32(uid), gid: uint32(gid), dir: dir}, nil
}

// command runs a PostgreSQL binary by name, or another tool by its path.
func (h *pgHost) command(name string, args ...string) *exec.Cmd {
	if !filepath.IsAbs(name) {
		name = filepath.Join(h.bin, name)
	}
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: h.uid, Gid: h.gid}}
	cmd.Dir = h.dir
	cmd.Env = []string{"LANG=C.UTF-8", "PATH=" + h.bin + ":/usr/bin:/bin"}
	return cmd
}

func (h *pgHost) run(name string, args ...string) (time.Duration, error) {
	start := time.Now()
	out, err := h.command(name, args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %s", name, err, out)
	}
	return time.Since(start), nil
}

// server starts postgres on a data directory and returns it running.
func (h *pgHost) server(data string, port int, extra ...string) (*exec.Cmd, error) {
	args := append([]string{"-D", data, "-c", "port=" + strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + h.dir, "-c", "wal_level=replica", "-c", "wal_log_hints=on"}, extra...)
	cmd := h.command("postgres", args...)
	log, err := os.Create(data + ".log")
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	return cmd, cmd.Start()
}

func stopServer(cmd *exec.Cmd) time.Duration {
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT) // fast shutdown
	_ = cmd.Wait()
	return time.Since(start)
}

// measureHostFloor runs initdb, start, pg_basebackup, standby start, then
// stops the primary and promotes the standby, timing each step.
func measureHostFloor(ctx context.Context, bin string) (f hostFloor, err error) {
	h, err := newPGHost(bin)
	if err != nil {
		return f, err
	}
	defer os.RemoveAll(h.dir)
	pdata, sdata := filepath.Join(h.dir, "p"), filepath.Join(h.dir, "s")
	pport, sport := freePort(), freePort()
	if f.initdb, err = h.run("initdb", "-D", pdata, "-U", "postgres", "--auth=trust",
		"--data-checksums", "--encoding=UTF8", "--no-locale"); err != nil {
		return f, err
	}
	start := time.Now()
	primary, err := h.server(pdata, pport)
	if err != nil {
		return f, err
	}
	defer func() { _ = primary.Process.Kill(); _ = primary.Wait() }()
	pdb := pgTarget{host: "127.0.0.1", port: pport}
	if err := waitAnswers(ctx, pdb); err != nil {
		return f, err
	}
	f.start = time.Since(start)
	if err := pdb.exec(ctx, "select pg_create_physical_replication_slot('floor')"); err != nil {
		return f, err
	}
	if f.basebackup, err = h.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(pport), "-U", "postgres",
		"-D", sdata, "-X", "stream", "-S", "floor", "--checkpoint=fast"); err != nil {
		return f, err
	}
	if err := os.WriteFile(filepath.Join(sdata, "standby.signal"), nil, 0o600); err != nil {
		return f, err
	}
	_ = os.Chown(filepath.Join(sdata, "standby.signal"), int(h.uid), int(h.gid))
	start = time.Now()
	standby, err := h.server(sdata, sport, "-c", fmt.Sprintf("primary_conninfo=host=127.0.0.1 port=%d user=postgres application_name=floor", pport),
		"-c", "primary_slot_name=floor")
	if err != nil {
		return f, err
	}
	defer func() { _ = standby.Process.Kill(); _ = standby.Wait() }()
	if err := poll(ctx, 30*time.Second, 10*time.Millisecond, func() (bool, error) {
		s, err := pdb.streamingStandbys(ctx)
		return s["floor"], err
	}); err != nil {
		return f, fmt.Errorf("standby never streamed: %w", err)
	}
	f.standbyStart = time.Since(start)
	f.stop = stopServer(primary)
	start = time.Now()
	if err := (pgTarget{host: "127.0.0.1", port: sport}).exec(ctx, "select pg_promote(true, 60)"); err != nil {
		return f, err
	}
	f.promote = time.Since(start)
	stopServer(standby)
	return f, nil
}

// waitAnswers polls a server every 10 ms until it accepts a query.
func waitAnswers(ctx context.Context, t pgTarget) error {
	return poll(ctx, 30*time.Second, 10*time.Millisecond, func() (bool, error) {
		var one int
		err := t.query(ctx, "select 1", &one)
		return err == nil, err
	})
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 54329
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
