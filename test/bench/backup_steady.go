package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// marks is the data of the point-in-time check: rows inserted one at a
// time, each acknowledged before the next, and a target time read on the
// server's clock between two of them. A restore to the target must hold
// exactly the rows inserted before it: each earlier commit's timestamp is
// before the target (it was acknowledged before the target was read) and
// each later one after.
type marks struct {
	total    int    // rows inserted and acknowledged
	atTarget int    // of which before target
	target   string // RFC 3339, UTC, microseconds
}

const targetFormat = `YYYY-MM-DD"T"HH24:MI:SS.US"Z"`

// writeMarks inserts a row every 100 ms for d and reads the target at d/2.
func writeMarks(ctx context.Context, t pgTarget, d time.Duration) (marks, error) {
	var m marks
	db, conn, err := t.open(ctx, 10*time.Second)
	if err != nil {
		return m, err
	}
	defer db.Close()
	defer conn.Close()
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for time.Since(start) < d {
		if m.target == "" && time.Since(start) >= d/2 {
			q := "select to_char(clock_timestamp() at time zone 'UTC', '" + targetFormat + "')"
			if err := conn.QueryRowContext(ctx, q).Scan(&m.target); err != nil {
				return m, err
			}
			m.atTarget = m.total
		}
		// An error leaves the row's fate unknown, and the check with it.
		if _, err := conn.ExecContext(ctx, "insert into bench_marks(id) values ($1)", m.total+1); err != nil {
			return m, fmt.Errorf("mark %d: %w", m.total+1, err)
		}
		m.total++
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-tick.C:
		}
	}
	return m, nil
}

// steadyWrites runs pgbench -c 4 at rate transactions/s for window while
// the archiver is sampled and marks are written, then closes the last
// segment and waits until it is archived: everything is then in the store.
func steadyWrites(ctx context.Context, bin string, t pgTarget, window time.Duration, rate int) (rpoResult, marks, error) {
	var timeout int
	if err := t.query(ctx, "select setting::int from pg_settings where name = 'archive_timeout'", &timeout); err != nil {
		return rpoResult{}, marks{}, err
	}
	const gap = 250 * time.Millisecond
	s := startSampler(ctx, t, gap)
	time.Sleep(2 * gap)
	// A fresh segment: the first completion is seen, so every later
	// sample knows how far behind the archive is. A commit first, in its
	// own transaction: a switch right after another (the backup's) is a
	// no-op.
	for _, q := range []string{"select txid_current()", "select pg_switch_wal()"} {
		if err := t.exec(ctx, q); err != nil {
			s.halt()
			return rpoResult{}, marks{}, err
		}
	}
	load := make(chan error, 1)
	go func() {
		_, err := pgbench(ctx, bin, t, "-n", "-c", "4", "-j", "2", "-R", strconv.Itoa(rate), "-T", strconv.Itoa(int(window.Seconds())))
		load <- err
	}()
	m, merr := writeMarks(ctx, t, window)
	lerr := <-load
	_, werr := switchAndWaitArchived(ctx, t, 5*time.Minute)
	time.Sleep(2 * gap) // the sampler sees the last segment archived
	samples, errs := s.halt()
	r := analyzeRPO(samples)
	r.errors, r.timeout, r.sampleGap = errs, time.Duration(timeout)*time.Second, gap
	for _, err := range []error{merr, lerr, werr} {
		if err != nil {
			return r, m, err
		}
	}
	return r, m, nil
}
