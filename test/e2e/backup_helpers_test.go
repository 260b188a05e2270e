//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// backupTimeout bounds one backup or restore of the small test databases.
const backupTimeout = 3 * time.Minute

var objectStoreOnce sync.Once

// objectStore starts the local cluster's object store (hack/object-store.sh,
// idempotent) once per run and gives ns its s3-creds and s3-ca Secrets.
func objectStore(t *testing.T, f *framework.Framework, ns string) {
	t.Helper()
	var upErr error
	objectStoreOnce.Do(func() { upErr = objectStoreCmd(f, "up") })
	require.NoError(t, upErr)
	require.NoError(t, objectStoreCmd(f, "secrets", ns))
}

func objectStoreCmd(f *framework.Framework, args ...string) error {
	cmd := exec.Command(f.Root+"/hack/object-store.sh", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("hack/object-store.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// storeYAML is an objectStore block for the local store, indented for
// spec.backup (indent 4) or spec.bootstrap.recovery.source (indent 6).
func storeYAML(indent int, path, creds string) string {
	pad := strings.Repeat(" ", indent)
	s := fmt.Sprintf("%sendpoint: https://s3.object-store.svc\n%sbucket: backups\n%suriStyle: path\n"+
		"%scredentials: {secret: %s}\n%sca: {secret: s3-ca}\n", pad, pad, pad, pad, creds, pad)
	if path != "" {
		s += fmt.Sprintf("%spath: %s\n", pad, path)
	}
	return s
}

// backupSpec is spec.backup for ClusterYAML's extra.
func backupSpec(extra string) string {
	return "  backup:\n    objectStore:\n" + storeYAML(6, "", "s3-creds") + extra
}

// recoverySpec is spec.bootstrap.recovery from the source's path.
func recoverySpec(sourcePath, target string) string {
	s := "  bootstrap:\n    recovery:\n      source:\n" + storeYAML(8, sourcePath, "s3-creds")
	if target != "" {
		s += "      target: " + target + "\n"
	}
	return s
}

// takeBackup creates a PostgresBackup and waits until it completes.
func takeBackup(t *testing.T, f *framework.Framework, ns, cluster, name string) *v1alpha1.PostgresBackup {
	t.Helper()
	f.KubectlOK(t, fmt.Sprintf("apiVersion: postgres-operator.dev/v1alpha1\nkind: PostgresBackup\n"+
		"metadata: {name: %s}\nspec: {cluster: %s}\n", name, cluster), "-n", ns, "create", "-f", "-")
	return waitBackupPhase(t, f, ns, name, v1alpha1.BackupCompleted)
}

func waitBackupPhase(t *testing.T, f *framework.Framework, ns, name string, phase v1alpha1.BackupPhase) *v1alpha1.PostgresBackup {
	t.Helper()
	var b *v1alpha1.PostgresBackup
	framework.Eventually(t, backupTimeout, "backup "+name+" "+string(phase), func() (bool, error) {
		var err error
		b, err = f.PG.PostgresV1alpha1().PostgresBackups(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if b.Status.Phase == v1alpha1.BackupFailed && phase != v1alpha1.BackupFailed {
			t.Fatalf("backup %s failed: %s", name, b.Status.Message)
		}
		return b.Status.Phase == phase, framework.Errorf("phase %q: %s", b.Status.Phase, b.Status.Message)
	})
	return b
}

// switchAndWaitArchived closes the current WAL segment on the primary and
// waits until the archive has it: everything committed before is then in
// the store.
func switchAndWaitArchived(t *testing.T, f *framework.Framework, ns, primary, pw string) {
	t.Helper()
	wal := f.Query(t, ns, primary, pw, "select pg_walfile_name(pg_switch_wal())")
	f.WaitQuery(t, ns, primary, pw, fmt.Sprintf(
		"select coalesce(last_archived_wal >= '%s', false) from pg_stat_archiver", wal), "t", 2*time.Minute)
}

// waitCondition waits until the cluster's condition has status and reason.
func waitCondition(t *testing.T, f *framework.Framework, ns, name, typ string, status metav1.ConditionStatus, reason string, timeout time.Duration) metav1.Condition {
	t.Helper()
	var c *metav1.Condition
	framework.Eventually(t, timeout, fmt.Sprintf("%s %s=%s (%s)", name, typ, status, reason), func() (bool, error) {
		c = meta.FindStatusCondition(f.Cluster(t, ns, name).Status.Conditions, typ)
		return c != nil && c.Status == status && (reason == "" || c.Reason == reason), framework.Errorf("%s: %+v", typ, c)
	})
	return *c
}

// waitNewPrimary waits until another member than old is the Ready primary.
func waitNewPrimary(t *testing.T, f *framework.Framework, ns, cluster, old string) {
	t.Helper()
	framework.Eventually(t, 2*time.Minute, "a new primary", func() (bool, error) {
		pgc := f.Cluster(t, ns, cluster)
		return pgc.Status.Primary != "" && pgc.Status.Primary != old &&
				meta.IsStatusConditionTrue(pgc.Status.Conditions, v1alpha1.ConditionReady),
			framework.Errorf("primary %q, phase %s", pgc.Status.Primary, pgc.Status.Phase)
	})
}
