//go:build e2e

package framework

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"
)

// NodeAckTable is the table the multi-node writers share: each writer
// has its own id range and name.
const NodeAckTable = "node_acks"

var errWarned = errors.New("the commit came with a WARNING: not an acknowledgement")

// Ack is one acknowledged commit and the server that acknowledged it, as
// the server itself said in the same statement (inet_server_addr() and the
// timeline of the WAL it was writing).
type Ack struct {
	Writer   string
	ID       int64
	Start    time.Time // the attempt began
	At       time.Time // COMMIT returned success
	Server   string    // the server's address of the connection
	Timeline uint32
}

// AckWriter writes one row at a time, each in its own transaction, with
// increasing ids, and records every acknowledged one.
type AckWriter struct {
	name  string
	write func(id int64) (server string, tli uint32, err error)
	close func()

	mu       sync.Mutex
	acks     []Ack
	attempts int
	failures int
	lastErr  string

	stop, done chan struct{}
}

// CreateNodeAckTable creates the writers' table through host.
func CreateNodeAckTable(host, password string) error {
	return execOnce(host, password, "create table if not exists "+NodeAckTable+
		" (id bigint primary key, writer text not null, at timestamptz not null default clock_timestamp())")
}

// insertSQL returns the row's server address and timeline in the same
// autocommit statement: its result counts only once the commit returned.
func insertSQL(writer string, id int64) string {
	return fmt.Sprintf("insert into %s (id, writer) values (%d, '%s') returning host(inet_server_addr()) || ' ' || "+
		"substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)", NodeAckTable, id, writer)
}

func parseServerTimeline(out string) (string, uint32, error) {
	fields := strings.Fields(out)
	if len(fields) != 2 {
		return "", 0, fmt.Errorf("unexpected answer %q", out)
	}
	tli, err := strconv.ParseUint(fields[1], 16, 32)
	if err != nil {
		return "", 0, fmt.Errorf("timeline in %q: %w", out, err)
	}
	return fields[0], uint32(tli), nil
}

// StartHostWriter writes from the host through host (a -rw Service) with
// lib/pq, every interval, ids from firstID up. A broken connection is
// replaced by a new one, so it follows the Service to a new primary.
func StartHostWriter(name, host, password string, firstID int64, interval time.Duration) *AckWriter {
	var db *sql.DB
	var mu sync.Mutex
	warned := false
	onNotice := func(n *pq.Error) {
		if n.Severity == "WARNING" {
			mu.Lock()
			warned = true
			mu.Unlock()
		}
	}
	w := &AckWriter{name: name, stop: make(chan struct{}), done: make(chan struct{})}
	w.write = func(id int64) (string, uint32, error) {
		if db == nil {
			var err error
			if db, err = openDB(host, password, writeIOTimeout, onNotice); err != nil {
				return "", 0, err
			}
		}
		mu.Lock()
		warned = false
		mu.Unlock()
		var out string
		err := db.QueryRow(insertSQL(name, id)).Scan(&out)
		if err != nil {
			db.Close() // after a failover the old connection leads nowhere
			db = nil
			return "", 0, err
		}
		mu.Lock()
		wasWarned := warned
		mu.Unlock()
		if wasWarned {
			return "", 0, errWarned
		}
		return parseServerTimeline(out)
	}
	w.close = func() {
		if db != nil {
			db.Close()
		}
	}
	go w.run(firstID, interval)
	return w
}

// StartNetnsWriter writes from inside a node's network namespace with
// psql (`ip netns exec NETNS psql`, one process and connection per
// commit) straight to host, every interval, ids from firstID up.
func StartNetnsWriter(name, netns, host, password string, firstID int64, interval time.Duration) *AckWriter {
	w := &AckWriter{name: name, stop: make(chan struct{}), done: make(chan struct{}), close: func() {}}
	w.write = func(id int64) (string, uint32, error) {
		out, err := NetnsPSQL(netns, host, password, insertSQL(name, id), writeIOTimeout)
		if err != nil {
			return "", 0, err
		}
		return parseServerTimeline(out)
	}
	go w.run(firstID, interval)
	return w
}

func (w *AckWriter) run(firstID int64, interval time.Duration) {
	defer close(w.done)
	defer w.close()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for id := firstID; ; id++ {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		start := time.Now()
		server, tli, err := w.write(id)
		at := time.Now()
		w.mu.Lock()
		w.attempts++
		if err != nil {
			w.failures++
			w.lastErr = err.Error()
		} else {
			w.acks = append(w.acks, Ack{Writer: w.name, ID: id, Start: start, At: at, Server: server, Timeline: tli})
		}
		w.mu.Unlock()
	}
}

// Stop ends the writes and waits for the last one.
func (w *AckWriter) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// Acks returns a copy of the acknowledged commits, in order.
func (w *AckWriter) Acks() []Ack {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Ack(nil), w.acks...)
}

// WriterStats are a writer's counters.
type WriterStats struct {
	Attempts, Acked, Failures int
	LastError                 string
}

// Stats returns the counters so far.
func (w *AckWriter) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return WriterStats{Attempts: w.attempts, Acked: len(w.acks), Failures: w.failures, LastError: w.lastErr}
}

// FirstAckNotOn returns the first acknowledged commit whose server is not
// the given address, if any.
func (w *AckWriter) FirstAckNotOn(server string) (Ack, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range w.acks {
		if a.Server != server {
			return a, true
		}
	}
	return Ack{}, false
}

// MissingNodeAcks returns the ids of acks that the server at host does
// not have, on a fresh connection.
func MissingNodeAcks(host, password string, acks []Ack) ([]int64, error) {
	ids := make([]int64, 0, len(acks))
	for _, a := range acks {
		ids = append(ids, a.ID)
	}
	return missingIn(host, password, NodeAckTable, ids)
}
