package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The load and the archiver counters of the backup scenario, the same for
// the cluster (through its -rw Service) and for the host floor (loopback).

// pgbench runs the machine's PostgreSQL 15 pgbench against t and returns
// its output. The password travels in the environment, never in argv.
func pgbench(ctx context.Context, bin string, t pgTarget, args ...string) (string, error) {
	port := t.port
	if port == 0 {
		port = 5432
	}
	all := append(args, "-h", t.host, "-p", strconv.Itoa(port), "-U", "postgres", "postgres")
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pgbench"), all...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+t.password, "PGCONNECT_TIMEOUT=3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("pgbench %s: %w: %s", strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return string(out), nil
}

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// tps is the rate pgbench reported, 0 when it printed none.
func tps(out string) float64 {
	m := tpsRE.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(len(l)-n, 0):], "\n")
}

// loadData fills the database with pgbench's tables at scale (70 ≈ 1 GB;
// generated server-side, so the client's link does not matter), adds the
// marks table of the point-in-time check, and returns the size of every
// database: what a full backup copies.
func loadData(ctx context.Context, bin string, t pgTarget, scale int) (int64, time.Duration, error) {
	start := time.Now()
	if _, err := pgbench(ctx, bin, t, "-i", "-q", "-I", "dtGvp", "-s", strconv.Itoa(scale)); err != nil {
		return 0, 0, err
	}
	took := time.Since(start)
	if err := t.exec(ctx, "create table if not exists bench_marks(id int primary key, at timestamptz not null default clock_timestamp())"); err != nil {
		return 0, 0, err
	}
	var size int64
	err := t.query(ctx, "select sum(pg_database_size(datname))::bigint from pg_database", &size)
	return size, took, err
}

// archCounters is one reading of the WAL position and pg_stat_archiver.
type archCounters struct {
	at                 time.Time
	walBytes           int64 // pg_current_wal_lsn() as a byte position
	archived, failed   int64
	lastArchived, curr string
}

func readArchCounters(ctx context.Context, t pgTarget) (archCounters, error) {
	var c archCounters
	err := t.query(ctx, `select clock_timestamp(), pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,
		archived_count, failed_count, coalesce(last_archived_wal, ''), pg_walfile_name(pg_current_wal_lsn())
		from pg_stat_archiver`, &c.at, &c.walBytes, &c.archived, &c.failed, &c.lastArchived, &c.curr)
	return c, err
}

// archiveRate is figure 1: WAL made and archived under unthrottled pgbench.
type archiveRate struct {
	window           time.Duration
	walBytes         int64
	archived, failed int64
	tps              float64
	drain            time.Duration // load stopped → every WAL file of it archived
}

const walSegment = 16 << 20 // initdb's default, which members keep

func (r archiveRate) madePerSec() float64 {
	return float64(r.walBytes) / walSegment / r.window.Seconds()
}

func (r archiveRate) archivedPerSec() float64 { return float64(r.archived) / r.window.Seconds() }

// measureArchiveRate runs pgbench -c 4 for window and counts the WAL
// segments archived meanwhile (pg_stat_archiver), then how long the
// archive takes to catch up once the load stops.
func measureArchiveRate(ctx context.Context, bin string, t pgTarget, window time.Duration) (r archiveRate, err error) {
	before, err := readArchCounters(ctx, t)
	if err != nil {
		return r, err
	}
	out, err := pgbench(ctx, bin, t, "-n", "-c", "4", "-j", "2", "-T", strconv.Itoa(int(window.Seconds())))
	if err != nil {
		return r, err
	}
	after, err := readArchCounters(ctx, t)
	if err != nil {
		return r, err
	}
	r = archiveRate{window: after.at.Sub(before.at), walBytes: after.walBytes - before.walBytes,
		archived: after.archived - before.archived, failed: after.failed - before.failed, tps: tps(out)}
	r.drain, err = switchAndWaitArchived(ctx, t, 5*time.Minute)
	return r, err
}

// switchAndWaitArchived closes the current WAL segment and waits until the
// archive has it: everything committed before is then in the store. It
// returns how long that took.
func switchAndWaitArchived(ctx context.Context, t pgTarget, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var wal string
	if err := t.query(ctx, "select pg_walfile_name(pg_switch_wal())", &wal); err != nil {
		return 0, err
	}
	err := poll(ctx, timeout, 50*time.Millisecond, func() (bool, error) {
		var done bool
		err := t.query(ctx, fmt.Sprintf("select coalesce(last_archived_wal >= '%s', false) from pg_stat_archiver", wal), &done)
		return done, err
	})
	if err != nil {
		return 0, fmt.Errorf("WAL %s never archived: %w", wal, err)
	}
	return time.Since(start), nil
}
