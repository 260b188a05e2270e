package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// incarnation identifies one running postmaster: a member restarted on
// the same volume is a new incarnation.
type incarnation struct {
	member string
	start  int64 // pg_postmaster_start_time() in Unix microseconds: comparable with ==
}

func (i incarnation) String() string {
	return fmt.Sprintf("%s@%s", i.member, time.UnixMicro(i.start).Format("15:04:05.000"))
}

// scanIncarnation reads "member, postmaster start" columns.
func scanIncarnation(row interface{ Scan(...any) error }, extra ...any) (incarnation, error) {
	var inc incarnation
	var start time.Time
	if err := row.Scan(append(extra, &inc.member, &start)...); err != nil {
		return inc, err
	}
	inc.start = start.UnixMicro()
	return inc, nil
}

// write is one INSERT attempt.
type write struct {
	id         int64
	start, end time.Time
	ok         bool
	on         incarnation // who acknowledged it
	err        string      // why it failed; id 0 when connecting failed
}

const insertSQL = "insert into bench_writes(id) values ($1) returning current_setting('cluster_name'), pg_postmaster_start_time()"

const createTableSQL = "create table if not exists bench_writes (id bigint primary key, at timestamptz not null default clock_timestamp())"

// writer is a client of <cluster>-rw that inserts a row every 50 ms, as an
// application would: one connection, reopened after an error, with a 1 s
// connect timeout and a 2 s deadline on every read. It records every
// attempt, so the acknowledged ids can be checked after the failover.
type writer struct {
	target pgTarget
	ids    *atomic.Int64 // shared by all runs: ids stay unique in the table

	mu   sync.Mutex
	log  []write
	stop chan struct{}
	done chan struct{}
}

func startWriter(target pgTarget, ids *atomic.Int64) *writer {
	w := &writer{target: target, ids: ids, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *writer) run() {
	defer close(w.done)
	ctx := context.Background()
	var db *sql.DB
	var conn *sql.Conn
	closeConn := func() {
		if conn != nil {
			conn.Close()
			db.Close()
		}
		db, conn = nil, nil
	}
	defer closeConn()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		if conn == nil {
			var err error
			start := time.Now()
			if db, conn, err = w.target.open(ctx, 2*time.Second); err != nil {
				db, conn = nil, nil
				w.record(write{start: start, end: time.Now(), err: "connect: " + err.Error()})
				continue
			}
		}
		wr := write{id: w.ids.Add(1), start: time.Now()}
		var err error
		wr.on, err = scanIncarnation(conn.QueryRowContext(ctx, insertSQL, wr.id))
		wr.end, wr.ok = time.Now(), err == nil
		if err != nil {
			wr.err = err.Error()
			closeConn()
		}
		w.record(wr)
	}
}

func (w *writer) record(wr write) {
	w.mu.Lock()
	w.log = append(w.log, wr)
	w.mu.Unlock()
}

// halt stops the writer and returns its log.
func (w *writer) halt() []write {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log
}

// firstAckAfter is the first acknowledged write after t by an incarnation
// other than not; ok is false if there is none yet.
func (w *writer) firstAckAfter(t time.Time, not incarnation) (write, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, wr := range w.log {
		if wr.ok && wr.end.After(t) && wr.on != not {
			return wr, true
		}
	}
	return write{}, false
}

// acked counts acknowledged writes so far.
func (w *writer) acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, wr := range w.log {
		if wr.ok {
			n++
		}
	}
	return n
}

// lostWrites returns the acknowledged ids that the primary does not have.
func lostWrites(ctx context.Context, primary pgTarget, log []write) (acked, lost int, err error) {
	if len(log) == 0 {
		return 0, 0, nil
	}
	var lo, hi int64
	for _, wr := range log {
		if wr.id != 0 && (lo == 0 || wr.id < lo) {
			lo = wr.id
		}
		hi = max(hi, wr.id)
	}
	db, conn, err := primary.open(ctx, 10*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "select id from bench_writes where id between $1 and $2", lo, hi)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	present := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return 0, 0, err
		}
		present[id] = true
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	for _, wr := range log {
		if wr.ok {
			acked++
			if !present[wr.id] {
				lost++
			}
		}
	}
	return acked, lost, nil
}
