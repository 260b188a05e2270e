package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"
)

// The backup scenario (issue 9): WAL archiving rate, full backup, restore
// and point-in-time restore of a ~1 GB database, and how far the archive
// lags under steady writes, in the local cluster and, beside each, on a
// floor measured with the same engine and store on loopback without
// Kubernetes (backup_floor.go). Both run one sequence (runBackupSequence).

type backupOptions struct {
	floorOnly      bool
	scale, rate    int
	load, window   time.Duration
	timeout        time.Duration
	root, gateway  string
	pgbackrestPath string
}

func backupFlags(o *backupOptions, root string) {
	o.root = root
	flag.BoolVar(&o.floorOnly, "backup-floor-only", false, "backup scenario: measure only the host floor (no Kubernetes)")
	flag.IntVar(&o.scale, "backup-scale", 70, "backup scenario: pgbench scale of the database (70 ≈ 1 GB)")
	flag.DurationVar(&o.load, "backup-load", 30*time.Second, "backup scenario: unthrottled pgbench -c 4 window of the archiving rate")
	flag.DurationVar(&o.window, "backup-rpo-window", 150*time.Second, "backup scenario: steady-write window of the archive lag (cover 2+ archive_timeout)")
	flag.IntVar(&o.rate, "backup-rate", 200, "backup scenario: pgbench -R during the steady-write window")
	flag.DurationVar(&o.timeout, "backup-timeout", 10*time.Minute, "backup scenario: bound of one backup or restore")
	flag.StringVar(&o.gateway, "versitygw", filepath.Join(root, ".local-cluster/bin/versitygw"), "versitygw binary of the floor's store (hack/object-store.sh builds it)")
	flag.StringVar(&o.pgbackrestPath, "pgbackrest", "/usr/bin/pgbackrest", "pgBackRest binary of the floor (2.45, as in the postgres image)")
}

// backupFigures is what one sequence measured; a duration is -1 and a
// count 0 when its step did not run.
type backupFigures struct {
	dbBytes     int64
	load        time.Duration // pgbench -i
	rate        archiveRate
	backup      backupRun
	rpo         rpoResult
	marks       marks
	clone, pitr restoreRun
}

type backupRun struct {
	wall   time.Duration // asked → done, as a user waits for it
	engine time.Duration // the engine's own start → stop (1 s resolution)
}

type restoreRun struct {
	wall       time.Duration // asked → the restored server takes writes
	rows, want int           // bench_marks rows found, expected
}

func newBackupFigures() *backupFigures {
	f := &backupFigures{load: -1, backup: backupRun{-1, -1}, clone: restoreRun{wall: -1}, pitr: restoreRun{wall: -1}}
	f.rate.drain = -1
	return f
}

// backupSite is where the sequence runs: the local cluster or the floor.
type backupSite interface {
	primary() pgTarget
	fullBackup(ctx context.Context) (backupRun, error)
	// restore restores the source's backups into a new server named name,
	// to target (RFC 3339) or, when empty, to the end of the archive, and
	// returns the time until it takes writes, the server, and its removal.
	restore(ctx context.Context, name, target string) (time.Duration, pgTarget, func(), error)
}

// runBackupSequence: load ~1 GB, archiving rate under pgbench, a full
// backup, steady writes (archive lag, marks), then a restore to the end
// and one to the marks' target, each checked row by row. It returns what
// it measured even when a step fails.
func runBackupSequence(ctx context.Context, site backupSite, o backupOptions, bin, who string) (*backupFigures, error) {
	f := newBackupFigures()
	db := site.primary()
	var err error
	logf("%s: pgbench -i -s %d", who, o.scale)
	if f.dbBytes, f.load, err = loadData(ctx, bin, db, o.scale); err != nil {
		return f, fmt.Errorf("loading: %w", err)
	}
	// The load's own WAL goes to the store first, so that the rate window
	// measures only its own.
	if err := db.exec(ctx, "checkpoint"); err != nil {
		return f, err
	}
	drain, err := switchAndWaitArchived(ctx, db, o.timeout)
	if err != nil {
		return f, err
	}
	logf("%s: %s loaded in %s; its WAL archived %s later; pgbench -c 4 for %s", who, mib(f.dbBytes), secs(f.load), secs(drain), o.load)
	if f.rate, err = measureArchiveRate(ctx, bin, db, o.load); err != nil {
		return f, fmt.Errorf("archiving rate: %w", err)
	}
	logf("%s: %.0f tps, WAL made %.2f seg/s, archived %.2f seg/s, caught up %s after; full backup", who,
		f.rate.tps, f.rate.madePerSec(), f.rate.archivedPerSec(), secs(f.rate.drain))
	if f.backup, err = site.fullBackup(ctx); err != nil {
		return f, fmt.Errorf("full backup: %w", err)
	}
	logf("%s: full backup %s (engine %s); steady writes at %d tps for %s", who, secs(f.backup.wall), secs(f.backup.engine), o.rate, o.window)
	if f.rpo, f.marks, err = steadyWrites(ctx, bin, db, o.window, o.rate); err != nil {
		return f, fmt.Errorf("steady writes: %w", err)
	}
	logf("%s: %d segments, archive latency p50 %s, most behind %s; restore to the end", who,
		f.rpo.segments, secs(f.rpo.latency.median()), secs(f.rpo.behind.max()))
	if f.clone, err = restoreAndCount(ctx, site, "clone", "", f.marks.total); err != nil {
		return f, fmt.Errorf("restore: %w", err)
	}
	logf("%s: restored in %s (%d of %d marks); restore to %s", who, secs(f.clone.wall), f.clone.rows, f.clone.want, f.marks.target)
	if f.pitr, err = restoreAndCount(ctx, site, "pitr", f.marks.target, f.marks.atTarget); err != nil {
		return f, fmt.Errorf("point-in-time restore: %w", err)
	}
	logf("%s: restored to the time in %s (%d marks, %d expected)", who, secs(f.pitr.wall), f.pitr.rows, f.pitr.want)
	return f, nil
}

// restoreAndCount restores, counts the marks in the result, removes it.
func restoreAndCount(ctx context.Context, site backupSite, name, target string, want int) (restoreRun, error) {
	r := restoreRun{wall: -1, want: want}
	wall, db, done, err := site.restore(ctx, name, target)
	if err != nil {
		return r, err
	}
	defer done()
	r.wall = wall
	// A Service may route a moment after Ready: retry the count briefly.
	err = poll(ctx, 30*time.Second, 200*time.Millisecond, func() (bool, error) {
		err := db.query(ctx, "select count(*) from bench_marks", &r.rows)
		return err == nil, err
	})
	return r, err
}

// runBackup runs the floor, then (unless --backup-floor-only) the cluster,
// and prints them side by side.
func runBackup(ctx context.Context, e *env, emit func(*table), fail func(string, error)) {
	o := e.opts.backup
	floor, err := measureBackupFloor(ctx, o, e.opts.pgBin)
	if err != nil {
		fail("backup floor", err)
	}
	var cluster *backupFigures
	if !o.floorOnly {
		if cluster, err = e.measureBackupCluster(ctx, o); err != nil {
			fail("backup", err)
		}
	}
	emit(backupTable(cluster, floor, o))
}
