package main

import (
	"context"
	"database/sql"
	"strconv"
	"time"
)

// Figure 4, how far the archive is behind under steady writes. Every
// sample reads, on the server's clock, the segment being written and the
// last one archived (pg_stat_archiver). A segment is complete at the first
// sample that sees a later one being written; it is archived at the
// archiver's own last_archived_time. At any moment the archive lacks
// everything written since the last archived segment completed: that age
// is the window a lost volume would lose, bounded by archive_timeout plus
// the time to push one segment.

// archSample is one sample of the primary.
type archSample struct {
	at             time.Time // clock_timestamp() on the server
	current        string    // WAL file being written
	lastArchived   string    // pg_stat_archiver.last_archived_wal
	lastArchivedAt time.Time
}

// rpoResult is what the samples show.
type rpoResult struct {
	latency   durations // per segment: completed → archived
	behind    durations // per sample: now − completion of the last archived segment
	period    durations // between two segment completions
	segments  int       // completed while sampled
	pending   int       // completed but not seen archived
	unjudged  int       // samples before a completion was seen
	errors    int       // samples that failed
	timeout   time.Duration
	sampleGap time.Duration
}

// walSegNo is the number of a WAL segment file (TTTTTTTTXXXXXXXXYYYYYYYY,
// 16 MiB segments: 256 per XXXXXXXX); false for history and backup files.
// The timeline is left out: no promotion happens while sampling.
func walSegNo(name string) (int64, bool) {
	if len(name) != 24 {
		return 0, false
	}
	hi, err1 := strconv.ParseInt(name[8:16], 16, 64)
	lo, err2 := strconv.ParseInt(name[16:24], 16, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return hi<<8 | lo, true
}

// analyzeRPO turns samples, in order, into per-segment latencies and
// per-sample distances behind.
func analyzeRPO(samples []archSample) rpoResult {
	var r rpoResult
	completed, archivedAt := map[int64]time.Time{}, map[int64]time.Time{}
	cur, arch := int64(-1), int64(-1)
	var lastCompletion time.Time
	for _, s := range samples {
		if c, ok := walSegNo(s.current); ok {
			if cur >= 0 && c > cur {
				for n := cur; n < c; n++ {
					completed[n] = s.at
				}
				if !lastCompletion.IsZero() {
					r.period.add(s.at.Sub(lastCompletion))
				}
				lastCompletion = s.at
			}
			cur = max(cur, c)
		}
		if a, ok := walSegNo(s.lastArchived); ok {
			// The archiver works in order: every segment up to a is in the
			// store, by the time it reported a at the latest.
			for n := max(arch+1, a-256); arch >= 0 && n <= a; n++ {
				archivedAt[n] = s.lastArchivedAt
			}
			arch = max(arch, a)
		}
		if done, ok := completed[arch]; ok {
			r.behind.add(s.at.Sub(done))
		} else {
			r.unjudged++
		}
	}
	r.segments = len(completed)
	for n, done := range completed {
		if a, ok := archivedAt[n]; ok {
			r.latency.add(max(a.Sub(done), 0)) // archived between two samples
		} else {
			r.pending++
		}
	}
	return r
}

// sampler reads archSamples every interval on one connection until stopped.
type sampler struct {
	stop    chan struct{}
	done    chan struct{}
	samples []archSample
	errors  int
}

const sampleQuery = `select clock_timestamp(), pg_walfile_name(pg_current_wal_lsn() + 1),
	coalesce(last_archived_wal, ''), last_archived_time from pg_stat_archiver`

func startSampler(ctx context.Context, t pgTarget, interval time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		var db *sql.DB
		var conn *sql.Conn
		defer func() {
			if db != nil {
				conn.Close()
				db.Close()
			}
		}()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if db == nil {
				var err error
				if db, conn, err = t.open(ctx, 5*time.Second); err != nil {
					db, s.errors = nil, s.errors+1
				}
			}
			if db != nil {
				var x archSample
				var at sql.NullTime
				if err := conn.QueryRowContext(ctx, sampleQuery).Scan(&x.at, &x.current, &x.lastArchived, &at); err != nil {
					conn.Close()
					db.Close()
					db, s.errors = nil, s.errors+1
				} else {
					x.lastArchivedAt = at.Time
					s.samples = append(s.samples, x)
				}
			}
			select {
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// halt stops the sampler and returns its samples.
func (s *sampler) halt() ([]archSample, int) {
	close(s.stop)
	<-s.done
	return s.samples, s.errors
}
