//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// Deleting the superuser Secret by mistake must not lock the operator out:
// the Secret comes back with the password the role has, and failover still
// works afterwards.
func TestCredentialsSecretDeletedByMistake(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "secret-deleted")
	pw := createReadyCluster(t, f, ns, "sd", 2, "")
	uids := podUIDs(t, f, ns, "sd")

	f.KubectlOK(t, "", "-n", ns, "delete", "secret", "sd-superuser")
	framework.Eventually(t, time.Minute, "the Secret restored with the same password", func() (bool, error) {
		s, err := f.Kube.CoreV1().Secrets(ns).Get(context.Background(), "sd-superuser", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return string(s.Data["password"]) == pw, framework.Errorf("the restored Secret has another password")
	})
	rw := f.ServiceIP(t, ns, "sd-rw")
	_, err := framework.PSQLHost(rw, pw, "select 1")
	require.NoError(t, err, "the old password still works")
	assert.Equal(t, uids, podUIDs(t, f, ns, "sd"), "no pod was restarted")

	// The operator can still act: a failover completes.
	primary, _ := f.Roles(t, ns, "sd")
	_, err = f.DeletePod(ns, primary, nil)
	require.NoError(t, err)
	framework.Eventually(t, 2*time.Minute, "another member promoted", func() (bool, error) {
		pgc := f.Cluster(t, ns, "sd")
		return pgc.Status.Primary != primary && meta.IsStatusConditionTrue(pgc.Status.Conditions, v1alpha1.ConditionReady),
			framework.Errorf("primary %s, phase %s", pgc.Status.Primary, pgc.Status.Phase)
	})
}

// A password changed in the Secret reaches the role within a pass, with no
// pod restart and no unready member; a refused value is reported once and
// changes nothing.
func TestCredentialsRotation(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "rotate")
	old := createReadyCluster(t, f, ns, "rot", 2, "")
	uids := podUIDs(t, f, ns, "rot")
	rw := f.ServiceIP(t, ns, "rot-rw")

	const fresh = "Rotated-Password-2026:with\\odd chars"
	patch := fmt.Sprintf(`{"stringData":{"password":%q}}`, fresh)
	f.KubectlOK(t, "", "-n", ns, "patch", "secret", "rot-superuser", "--type", "merge", "-p", patch)
	framework.Eventually(t, time.Minute, "the new password accepted", func() (bool, error) {
		_, err := framework.PSQLHost(rw, fresh, "select 1")
		return err == nil, err
	})
	_, err := framework.PSQLHost(rw, old, "select 1")
	assert.Error(t, err, "the old password no longer works")
	f.WaitReady(t, ns, "rot", time.Minute)
	// The pass that sets the password reports it pending (its observation
	// came first); the next one, woken by the record's update, says so.
	framework.Eventually(t, 30*time.Second, "PasswordsInSync", func() (bool, error) {
		c := meta.FindStatusCondition(f.Cluster(t, ns, "rot").Status.Conditions, "PasswordsInSync")
		return c != nil && c.Status == metav1.ConditionTrue, framework.Errorf("PasswordsInSync: %+v", c)
	})
	assert.Equal(t, uids, podUIDs(t, f, ns, "rot"), "no pod was restarted")
	assert.NotEmpty(t, clusterEvents(t, f, ns, "rot", "RotatePassword"))

	f.KubectlOK(t, "", "-n", ns, "patch", "secret", "rot-superuser", "--type", "merge", "-p", `{"data":{"password":""}}`)
	framework.Eventually(t, time.Minute, "the empty password refused", func() (bool, error) {
		c := meta.FindStatusCondition(f.Cluster(t, ns, "rot").Status.Conditions, "PasswordsInSync")
		return c != nil && c.Reason == "PasswordRefused", framework.Errorf("PasswordsInSync: %+v", c)
	})
	_, err = framework.PSQLHost(rw, fresh, "select 1")
	require.NoError(t, err, "the role keeps its password")
	assert.Len(t, clusterEvents(t, f, ns, "rot", "PasswordRefused"), 1, "one Warning Event, not one per pass")
	f.WaitReady(t, ns, "rot", time.Minute)
}

// podUIDs maps each member pod to its UID: a restart changes it.
func podUIDs(t *testing.T, f *framework.Framework, ns, cluster string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range f.MemberPods(t, ns, cluster) {
		out[p.Name] = string(p.UID)
	}
	return out
}
