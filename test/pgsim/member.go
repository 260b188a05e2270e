package pgsim

import (
	"fmt"
	"hash/fnv"
	"sync"
	"time"
)

// lsn is a WAL position, printed as PostgreSQL prints pg_lsn.
type lsn uint64

func (l lsn) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// WAL geometry of the simulated members: initdb's default segment size,
// and where a freshly initialized primary's WAL stands.
const (
	walSegmentSize = 16 << 20
	walStart       = lsn(walSegmentSize + 0x148) // in segment 000000010000000000000001
	walPerRead     = 0x68                        // what one probe "writes"
	walPerWrite    = 0x1b0                       // what a catalog change or ALTER SYSTEM writes
)

// member is one simulated PostgreSQL instance. mu guards everything; a
// statement holds it while it runs (statements are microseconds, and
// connections to one member are few).
type member struct {
	key      string
	sysid    uint64
	started  time.Time
	mu       sync.Mutex
	cat      *catalog
	autoConf map[string]string // postgresql.auto.conf
	slots    map[string]*slot
	wal      lsn // pg_current_wal_lsn()
	// The last checkpoint, and the counters of pg_stat_bgwriter.
	checkpoint              lsn
	checkpointsReq, commits int64
	sessions                int // connected client backends
}

// slot is a physical replication slot; no standby ever uses one here.
type slot struct {
	name    string
	restart lsn
}

func newMember(key, cluster string, now time.Time) *member {
	return &member{key: key, sysid: systemIdentifier(cluster), started: now, cat: initdbCatalog(),
		autoConf: map[string]string{}, slots: map[string]*slot{}, wal: walStart, checkpoint: walStart - 0x120}
}

// systemIdentifier is stable per cluster: every member of a cluster, and a
// member whose pod came back with another address, reports the same one,
// as members cloned from one initdb do. Like initdb's, the high half looks
// like a creation time and the sign bit stays clear (the client reads it
// as a bigint).
func systemIdentifier(cluster string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(cluster))
	const created = 1764547200 // 2025-12-01T00:00:00Z
	return (uint64(created)<<32 | h.Sum64()&0xFFFFFFFF) & (1<<63 - 1)
}

// currentWAL is pg_current_wal_lsn(): it advances on every read, so a
// probe always sees the primary moving, as a live one does.
func (m *member) currentWAL() lsn {
	m.wal += walPerRead
	return m.wal
}

// wrote records a change that would have written WAL.
func (m *member) wrote() {
	m.wal += walPerWrite
	m.commits++
}

// oldestSegment is the segment pg_wal starts with: the oldest one the last
// checkpoint or a slot still needs.
func (m *member) oldestSegment() lsn {
	oldest := m.checkpoint
	for _, s := range m.slots {
		oldest = min(oldest, s.restart)
	}
	return oldest / walSegmentSize * walSegmentSize
}

// members holds every simulated instance, created on first contact.
type members struct {
	mu  sync.Mutex
	all map[string]*member
	now func() time.Time
}

// get returns the member for a connection. The key is the cluster the
// client names (TLS server name) and the local address it reached: each
// simulated pod has its own state, and an address a deleted cluster's pod
// had does not hand that state to the next cluster's pod that gets it.
func (ms *members) get(cluster, addr string) *member {
	key := cluster + "@" + addr
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m := ms.all[key]
	if m == nil {
		id := cluster
		if id == "" {
			id = addr // plain text: no cluster name to go by
		}
		m = newMember(key, id, ms.now())
		ms.all[key] = m
	}
	return m
}
