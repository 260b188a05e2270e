package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// clusterSite is the backup sequence in the local cluster: a size-1
// PostgresCluster archiving to the local object store (hack/object-store.sh),
// PostgresBackups, and new clusters restored with spec.bootstrap.recovery.
// Everything is asked for through the API, as a user would.
type clusterSite struct {
	e       *env
	ns      string
	db      pgTarget
	timeout time.Duration
	backups int
}

const (
	backupSource = "src"
	// Room for ~1 GB of data and its WAL; hostpath does not enforce it, but
	// the members' archive backlog bound is a quarter of it (as the floor's).
	backupVolumeBytes = 5 << 30
)

func (e *env) measureBackupCluster(ctx context.Context, o backupOptions) (*backupFigures, error) {
	s, err := e.startClusterSite(ctx, o)
	if err != nil {
		return nil, err
	}
	f, err := runBackupSequence(ctx, s, o, e.opts.pgBin, "cluster")
	if err != nil {
		e.diagnose(s.ns, backupSource)
	}
	return f, err
}

func (e *env) startClusterSite(ctx context.Context, o backupOptions) (*clusterSite, error) {
	ns, err := e.namespace(ctx, "backup")
	if err != nil {
		return nil, err
	}
	// Idempotent: builds and deploys the store only when it is not up.
	for _, args := range [][]string{{"up"}, {"secrets", ns}} {
		cmd := exec.CommandContext(ctx, filepath.Join(o.root, "hack/object-store.sh"), args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("hack/object-store.sh %s: %w: %s", strings.Join(args, " "), err, lastLines(string(out), 5))
		}
	}
	pgc := backupCluster(ns, backupSource)
	pgc.Spec.Backup = &v1alpha1.BackupSpec{ObjectStore: localStore(""), ArchiveTimeout: &metav1.Duration{Duration: time.Minute}}
	if _, err := e.pg.PostgresV1alpha1().PostgresClusters(ns).Create(ctx, pgc, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	db, _, err := e.readyTarget(ctx, ns, backupSource, o.timeout)
	if err != nil {
		e.diagnose(ns, backupSource)
		return nil, err
	}
	return &clusterSite{e: e, ns: ns, db: db, timeout: o.timeout}, nil
}

// backupCluster is newCluster, size 1, with a volume for ~1 GB.
func backupCluster(ns, name string) *v1alpha1.PostgresCluster {
	pgc := newCluster(ns, name, 1, v1alpha1.ReplicationAsync)
	pgc.Spec.Storage.Size = *resource.NewQuantity(backupVolumeBytes, resource.BinarySI)
	return pgc
}

// localStore is the local cluster's object store (hack/LOCAL-CLUSTER.md).
func localStore(path string) v1alpha1.ObjectStore {
	return v1alpha1.ObjectStore{Endpoint: "https://s3.object-store.svc", Bucket: storeBucket, Path: path,
		Region: storeRegion, URIStyle: "path", Credentials: v1alpha1.SecretName{Secret: "s3-creds"},
		CA: &v1alpha1.SecretName{Secret: "s3-ca"}}
}

// readyTarget waits until the cluster is Ready and returns its primary
// through the -rw Service, and when Ready was seen.
func (e *env) readyTarget(ctx context.Context, ns, name string, timeout time.Duration) (pgTarget, time.Time, error) {
	_, at, err := e.waitReady(ctx, ns, name, timeout)
	if err != nil {
		return pgTarget{}, at, err
	}
	pw, err := e.password(ctx, ns, name)
	if err != nil {
		return pgTarget{}, at, err
	}
	ip, err := e.rwAddress(ctx, ns, name)
	return pgTarget{host: ip, password: pw}, at, err
}

func (s *clusterSite) primary() pgTarget { return s.db }

// fullBackup creates a PostgresBackup and times it to Completed (polled
// every 250 ms); the engine's own time is the status' start → stop.
func (s *clusterSite) fullBackup(ctx context.Context) (backupRun, error) {
	r := backupRun{-1, -1}
	s.backups++
	api := s.e.pg.PostgresV1alpha1().PostgresBackups(s.ns)
	b := &v1alpha1.PostgresBackup{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("full-%d", s.backups)},
		Spec: v1alpha1.PostgresBackupSpec{Cluster: backupSource, Type: v1alpha1.BackupFull}}
	start := time.Now()
	if _, err := api.Create(ctx, b, metav1.CreateOptions{}); err != nil {
		return r, err
	}
	err := poll(ctx, s.timeout, 250*time.Millisecond, func() (bool, error) {
		var err error
		if b, err = api.Get(ctx, b.Name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		if b.Status.Phase == v1alpha1.BackupFailed {
			return false, fmt.Errorf("backup %s failed: %s", b.Name, b.Status.Message)
		}
		return b.Status.Phase == v1alpha1.BackupCompleted, fmt.Errorf("phase %q: %s", b.Status.Phase, b.Status.Message)
	})
	if err != nil {
		return r, err
	}
	r.wall = time.Since(start)
	if st := b.Status; st.StartTime != nil && st.StopTime != nil {
		r.engine = st.StopTime.Sub(st.StartTime.Time)
	}
	return r, nil
}

// restore creates a size-1 cluster from the source's backups (no
// spec.backup: it does not archive, like the floor's) and times it to Ready.
func (s *clusterSite) restore(ctx context.Context, name, target string) (time.Duration, pgTarget, func(), error) {
	pgc := backupCluster(s.ns, name)
	rec := &v1alpha1.RecoverySpec{Source: localStore("/" + s.ns + "/" + backupSource)}
	if target != "" {
		rec.Target = &v1alpha1.RecoveryTarget{Time: target}
	}
	pgc.Spec.Bootstrap = &v1alpha1.BootstrapSpec{Recovery: rec}
	start := time.Now()
	if _, err := s.e.pg.PostgresV1alpha1().PostgresClusters(s.ns).Create(ctx, pgc, metav1.CreateOptions{}); err != nil {
		return 0, pgTarget{}, nil, err
	}
	db, at, err := s.e.readyTarget(ctx, s.ns, name, s.timeout)
	if err != nil {
		s.e.diagnose(s.ns, name)
		return 0, pgTarget{}, nil, err
	}
	done := func() {
		if err := s.e.deleteCluster(context.Background(), s.ns, name); err != nil {
			logf("deleting %s/%s: %v", s.ns, name, err)
		}
	}
	return at.Sub(start), db, done, nil
}
