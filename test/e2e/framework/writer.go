//go:build e2e

package framework

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"
)

// AckTable is the table the recorder writes.
const AckTable = "chaos_acks"

// Recorder writes rows with increasing ids through one address (a
// cluster's -rw Service) and records every id whose COMMIT returned
// success: the acknowledged commits a failover must not lose.
type Recorder struct {
	host, password string
	interval       time.Duration

	mu       sync.Mutex
	acked    []int64 // increasing
	ackedAt  []time.Time
	ackedWAL []WALPoint  // where the primary's WAL stood right after each ack (zero: unknown)
	startAt  []time.Time // when the acknowledged attempt began
	attempts int64
	failures int64
	warnings int64 // WARNING notices received
	warnedOK int64 // successful commits that came with a warning: never counted as acknowledged
	lastErr  string
	lastWarn string

	stop chan struct{}
	done chan struct{}
}

// StartRecorder creates the table through host and starts writing one row
// every interval until Stop.
func StartRecorder(host, password string, interval time.Duration) (*Recorder, error) {
	r := &Recorder{host: host, password: password, interval: interval, stop: make(chan struct{}), done: make(chan struct{})}
	if err := execOnce(host, password, "create table if not exists "+AckTable+" (id bigint primary key, at timestamptz not null default now())"); err != nil {
		return nil, fmt.Errorf("creating %s: %w", AckTable, err)
	}
	go r.run()
	return r, nil
}

// Stop ends the writes and waits for the last one to finish.
func (r *Recorder) Stop() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
}

func (r *Recorder) run() {
	defer close(r.done)
	var db *sql.DB
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for id := int64(1); ; id++ {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
		if db == nil {
			var err error
			if db, err = openDB(r.host, r.password, writeIOTimeout, r.onNotice); err != nil {
				r.fail(err)
				continue
			}
		}
		if err := r.insert(db, id); err != nil {
			// Reconnect: after a failover the old connection leads nowhere.
			db.Close()
			db = nil
		}
	}
}

// insert writes one id in its own (autocommit) transaction, then asks
// where the primary's WAL stands.
func (r *Recorder) insert(db *sql.DB, id int64) error {
	start := time.Now()
	r.mu.Lock()
	r.attempts++
	warnedBefore := r.warnings
	r.mu.Unlock()
	_, err := db.Exec("insert into "+AckTable+" (id) values ($1)", id)
	acked := r.noteInsert(id, start, warnedBefore, err)
	if acked {
		wal := currentWAL(db)
		r.mu.Lock()
		r.ackedWAL[len(r.ackedWAL)-1] = wal
		r.mu.Unlock()
	}
	return err
}

// noteInsert records the outcome of one insert and reports whether it was
// an acknowledgement.
func (r *Recorder) noteInsert(id int64, start time.Time, warnedBefore int64, err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil:
		r.failures++
		r.lastErr = err.Error()
		return false
	case r.warnings != warnedBefore:
		// "committed locally, but might not have been replicated": not an
		// acknowledgement a sync-mode client may rely on.
		r.warnedOK++
		return false
	}
	r.acked = append(r.acked, id)
	r.ackedAt = append(r.ackedAt, time.Now())
	r.startAt = append(r.startAt, start)
	r.ackedWAL = append(r.ackedWAL, WALPoint{})
	return true
}

// WALPoint is a position in a timeline's WAL.
type WALPoint struct {
	Timeline uint32
	LSN      uint64
}

// currentWAL asks the primary where its WAL stands. Asked after a COMMIT
// returned, it is at or past the end of that commit's record: an upper
// bound of what a replica must have had for the commit to survive. A
// failed question leaves it unknown.
func currentWAL(db *sql.DB) WALPoint {
	var lsn, tli string
	err := db.QueryRow("select pg_current_wal_lsn()::text, substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)").Scan(&lsn, &tli)
	if err != nil {
		return WALPoint{}
	}
	var t uint32
	if _, err := fmt.Sscanf(tli, "%X", &t); err != nil {
		return WALPoint{}
	}
	return WALPoint{Timeline: t, LSN: parseLSN(lsn)}
}

// AckedWAL returns the WAL position recorded after each acknowledged id.
func (r *Recorder) AckedWAL() map[int64]WALPoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[int64]WALPoint, len(r.acked))
	for i, id := range r.acked {
		out[id] = r.ackedWAL[i]
	}
	return out
}

func (r *Recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	r.failures++
	r.lastErr = err.Error()
}

func (r *Recorder) onNotice(n *pq.Error) {
	if n.Severity == "WARNING" {
		r.mu.Lock()
		r.warnings++
		r.lastWarn = n.Message
		r.mu.Unlock()
	}
}

// RecorderStats are counters for reports.
type RecorderStats struct {
	Attempts, Acked, Failures int64
	Warnings, WarnedOK        int64
	LastError, LastWarning    string
}

// Stats returns the counters so far.
func (r *Recorder) Stats() RecorderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RecorderStats{Attempts: r.attempts, Acked: int64(len(r.acked)), Failures: r.failures,
		Warnings: r.warnings, WarnedOK: r.warnedOK, LastError: r.lastErr, LastWarning: r.lastWarn}
}

// Acked returns a copy of every acknowledged id.
func (r *Recorder) Acked() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.acked...)
}

// FirstAckStartedAfter returns when the first write that began after t was
// acknowledged, or false if none was yet.
func (r *Recorder) FirstAckStartedAfter(t time.Time) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.startAt) - 1; i >= 0 && r.startAt[i].After(t); i-- {
		if i == 0 || !r.startAt[i-1].After(t) {
			return r.ackedAt[i], true
		}
	}
	return time.Time{}, false
}

// AckedBetween counts the ids acknowledged in [from, to).
func (r *Recorder) AckedBetween(from, to time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, at := range r.ackedAt {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// MissingIDs returns the ids of acked that the server at host does not
// have. It asks on a fresh connection, in one round trip.
func MissingIDs(host, password string, acked []int64) ([]int64, error) {
	return missingIn(host, password, AckTable, acked)
}

// missingIn returns the ids that table lacks on the server at host.
func missingIn(host, password, table string, ids []int64) ([]int64, error) {
	db, err := openDB(host, password, writeIOTimeout, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query("select a from unnest($1::bigint[]) a where not exists (select 1 from "+table+" t where t.id = a) order by a",
		pq.Array(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var missing []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		missing = append(missing, id)
	}
	return missing, rows.Err()
}

// execOnce runs one statement on a fresh connection.
func execOnce(host, password, stmt string) error {
	db, err := openDB(host, password, writeIOTimeout, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(stmt)
	return err
}

// FormatIDs shortens a list of ids for a log line.
func FormatIDs(ids []int64, limit int) string {
	var b strings.Builder
	for i, id := range ids {
		if i == limit {
			fmt.Fprintf(&b, " ... (%d more)", len(ids)-limit)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, id)
	}
	return b.String()
}
