package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// floorSite is the backup floor: PostgreSQL 15 from the machine's binaries
// as the postgres OS user, pgBackRest archiving to and backing up into a
// versitygw on 127.0.0.1 (backup_store.go). No Kubernetes, no operator, no
// shell hook around the engine: what the hardware and the engine allow.
type floorSite struct {
	h      *pgHost
	store  *floorStore
	engine string // pgBackRest binary
	conf   string
	server *exec.Cmd
	db     pgTarget
}

// measureBackupFloor runs the backup sequence on the floor.
func measureBackupFloor(ctx context.Context, o backupOptions, bin string) (*backupFigures, error) {
	s, err := startFloorSite(ctx, o, bin)
	if err != nil {
		return nil, fmt.Errorf("starting the floor: %w", err)
	}
	defer s.close()
	return runBackupSequence(ctx, s, o, bin, "floor")
}

func startFloorSite(ctx context.Context, o backupOptions, bin string) (_ *floorSite, err error) {
	h, err := newPGHost(bin)
	if err != nil {
		return nil, err
	}
	s := &floorSite{h: h, engine: o.pgbackrestPath}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	gateway, err := filepath.Abs(o.gateway) // BENCH_ROOT may be relative
	if err != nil {
		return s, err
	}
	if s.store, err = startFloorStore(ctx, h, filepath.Join(h.dir, "store"), gateway); err != nil {
		return s, err
	}
	data, port := filepath.Join(h.dir, "data"), freePort()
	s.conf = filepath.Join(h.dir, "pgbackrest.conf")
	if err := os.WriteFile(s.conf, []byte(s.store.pgbackrestConf(h.dir, data, port)), 0o600); err != nil {
		return s, err
	}
	if err := os.Chown(s.conf, int(h.uid), int(h.gid)); err != nil {
		return s, err
	}
	if _, err := h.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--data-checksums", "--encoding=UTF8", "--no-locale"); err != nil {
		return s, err
	}
	// The members' settings that bear on archiving: archive_timeout is
	// spec.backup.archiveTimeout's default.
	if s.server, err = h.server(data, port, "-c", "archive_mode=on", "-c", "archive_timeout=60",
		"-c", "archive_command="+s.engine+" --config="+s.conf+" --stanza=db archive-push %p"); err != nil {
		return s, err
	}
	s.db = pgTarget{host: "127.0.0.1", port: port}
	if err := waitAnswers(ctx, s.db); err != nil {
		return s, err
	}
	_, err = s.pgbackrest(ctx, "stanza-create")
	return s, err
}

func (s *floorSite) close() {
	if s.server != nil {
		stopServer(s.server)
	}
	if s.store != nil {
		s.store.stop()
	}
	os.RemoveAll(s.h.dir)
}

func (s *floorSite) primary() pgTarget { return s.db }

// pgbackrest runs the engine as postgres with the floor's configuration.
func (s *floorSite) pgbackrest(ctx context.Context, args ...string) ([]byte, error) {
	cmd := s.h.command(s.engine, append([]string{"--config=" + s.conf, "--stanza=db"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return out, fmt.Errorf("pgbackrest %v: %w: %s%s", args, err, lastLines(string(out), 5), stderr)
	}
	return out, nil
}

// fullBackup times `pgbackrest backup --type=full`, as the backup Job runs it.
func (s *floorSite) fullBackup(ctx context.Context) (backupRun, error) {
	r := backupRun{-1, -1}
	start := time.Now()
	if _, err := s.pgbackrest(ctx, "--type=full", "backup"); err != nil {
		return r, err
	}
	r.wall = time.Since(start)
	out, err := s.pgbackrest(ctx, "--output=json", "--log-level-console=off", "info")
	if err != nil {
		return r, err
	}
	var info []struct {
		Backup []struct {
			Timestamp struct{ Start, Stop int64 } `json:"timestamp"`
		} `json:"backup"`
	}
	if err := json.Unmarshal(out, &info); err != nil || len(info) == 0 || len(info[0].Backup) == 0 {
		return r, fmt.Errorf("reading pgbackrest info: %v: %s", err, out)
	}
	b := info[0].Backup[len(info[0].Backup)-1]
	r.engine = time.Duration(b.Timestamp.Stop-b.Timestamp.Start) * time.Second
	return r, nil
}

// restore runs `pgbackrest restore` into a new data directory and starts
// PostgreSQL on it until it has promoted: what member.sh's restore_seed
// does (hot_standby off: nobody reads a half-recovered database), less the
// restart after it. The time includes the engine's own start-up.
func (s *floorSite) restore(ctx context.Context, name, target string) (time.Duration, pgTarget, func(), error) {
	data := filepath.Join(s.h.dir, name)
	args := []string{"--pg1-path=" + data}
	if target != "" {
		t, err := time.Parse(time.RFC3339Nano, target)
		if err != nil {
			return 0, pgTarget{}, nil, err
		}
		args = append(args, "--type=time", "--target="+t.UTC().Format("2006-01-02 15:04:05.999999")+"+00", "--target-action=promote")
	}
	start := time.Now()
	if _, err := s.pgbackrest(ctx, append(args, "restore")...); err != nil {
		return 0, pgTarget{}, nil, err
	}
	port := freePort()
	server, err := s.h.server(data, port, "-c", "hot_standby=off")
	if err != nil {
		return 0, pgTarget{}, nil, err
	}
	done := func() { stopServer(server); os.RemoveAll(data) }
	db := pgTarget{host: "127.0.0.1", port: port}
	err = poll(ctx, 10*time.Minute, 10*time.Millisecond, func() (bool, error) {
		var recovering bool
		err := db.query(ctx, "select pg_is_in_recovery()", &recovering)
		return err == nil && !recovering, err
	})
	if err != nil {
		done()
		return 0, pgTarget{}, nil, fmt.Errorf("the restored server never promoted (log %s.log): %w", data, err)
	}
	return time.Since(start), db, done, nil
}
