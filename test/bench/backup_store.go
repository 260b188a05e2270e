package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// floorStore is the floor's object store: the versitygw binary the local
// cluster's store runs (hack/lib/object-store.sh), started the same way
// (posix backend, TLS, one root account) on 127.0.0.1, as the postgres OS
// user, with a self-signed certificate for the DNS name localhost:
// pgBackRest checks DNS names, not IP addresses.
type floorStore struct {
	port           int
	ca             string
	access, secret string
	cmd            *exec.Cmd
}

const (
	storeBucket = "backups"
	storeRegion = "us-east-1"
	// sha256 of an empty body: curl signs requests but does not hash the payload.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

func startFloorStore(ctx context.Context, h *pgHost, dir, gateway string) (*floorStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, err
	}
	crt, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if out, err := exec.CommandContext(ctx, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=localhost",
		"-addext", "subjectAltName=DNS:localhost").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("openssl: %w: %s", err, out)
	}
	if err := chownTree(dir, h.uid, h.gid); err != nil {
		return nil, err
	}
	s := &floorStore{port: freePort(), ca: crt, access: "FLOOR" + randomHex(6), secret: randomHex(20)}
	s.cmd = h.command(gateway, "--port", "127.0.0.1:"+strconv.Itoa(s.port), "--cert", crt, "--key", key,
		"--region", storeRegion, "posix", filepath.Join(dir, "data"))
	// The keys go in the environment: other users can read a command line.
	s.cmd.Env = append(s.cmd.Env, "ROOT_ACCESS_KEY="+s.access, "ROOT_SECRET_KEY="+s.secret)
	log, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	if err := s.createBucket(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// createBucket waits until the gateway answers, then makes the bucket with
// a real CreateBucket, as hack/lib/object-store.sh does.
func (s *floorStore) createBucket(ctx context.Context) error {
	err := poll(ctx, 15*time.Second, 100*time.Millisecond, func() (bool, error) {
		code, err := s.curl(ctx, "-I")
		return code == "404" || code == "200", fmt.Errorf("HEAD on the bucket: %s %v", code, err)
	})
	if err != nil {
		return fmt.Errorf("versitygw never answered: %w", err)
	}
	if code, err := s.curl(ctx, "-X", "PUT"); code != "200" {
		return fmt.Errorf("creating bucket %s answered %s: %v", storeBucket, code, err)
	}
	return nil
}

// curl sends one signed request for the bucket and returns the HTTP status.
func (s *floorStore) curl(ctx context.Context, args ...string) (string, error) {
	args = append([]string{"-sS", "-K", "-", "--noproxy", "*", "--connect-timeout", "2", "--max-time", "5",
		"--aws-sigv4", "aws:amz:" + storeRegion + ":s3", "--cacert", s.ca, "-H", "x-amz-content-sha256: " + emptySHA256,
		"-o", "/dev/null", "-w", "%{http_code}"}, args...)
	cmd := exec.CommandContext(ctx, "curl", append(args, fmt.Sprintf("https://localhost:%d/%s", s.port, storeBucket))...)
	cmd.Stdin = strings.NewReader(fmt.Sprintf("user = \"%s:%s\"\n", s.access, s.secret))
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func (s *floorStore) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// pgbackrestConf is the floor's engine configuration: the settings the
// operator gives members and backup Jobs (pkg/pgbackrest), with
// asynchronous archive-push only, as members have it.
func (s *floorStore) pgbackrestConf(dir, pgdata string, port int) string {
	return fmt.Sprintf(`[global]
repo1-type=s3
repo1-s3-endpoint=localhost
repo1-storage-port=%d
repo1-storage-ca-file=%s
repo1-s3-uri-style=path
repo1-s3-region=%s
repo1-s3-bucket=%s
repo1-s3-key=%s
repo1-s3-key-secret=%s
repo1-path=/floor
repo1-retention-full=7
compress-type=zst
process-max=2
io-timeout=30
db-timeout=600
start-fast=y
lock-path=%[7]s/lock
log-level-file=off
log-level-console=info
log-level-stderr=off

[global:archive-push]
archive-async=y
spool-path=%[7]s/spool
archive-push-queue-max=%d
archive-timeout=30

[db]
pg1-path=%s
pg1-port=%d
pg1-socket-path=%[7]s
pg1-user=postgres
`, s.port, s.ca, storeRegion, storeBucket, s.access, s.secret, dir, int64(backupVolumeBytes/4), pgdata, port)
}

func chownTree(dir string, uid, gid uint32) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, int(uid), int(gid))
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}
