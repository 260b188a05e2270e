//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const operatorNS = "postgres-operator"

// The operator runs under its own ServiceAccount, holds the Lease and logs
// structured lines.
func TestOperatorDeployment(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	dep, err := f.Kube.AppsV1().Deployments(operatorNS).Get(ctx, "postgres-operator", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), dep.Status.ReadyReplicas)
	spec := dep.Spec.Template.Spec
	assert.Equal(t, "postgres-operator", spec.ServiceAccountName)
	assert.True(t, *spec.SecurityContext.RunAsNonRoot)
	c := spec.Containers[0]
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	assert.NotNil(t, c.LivenessProbe)
	assert.NotNil(t, c.ReadinessProbe)
	assert.Contains(t, c.Args, "--leader-elect=true")

	pods, err := f.Kube.CoreV1().Pods(operatorNS).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=postgres-operator"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 1)
	lease, err := f.Kube.CoordinationV1().Leases(operatorNS).Get(ctx, "postgres-operator", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, lease.Spec.HolderIdentity)
	assert.Equal(t, pods.Items[0].Name, *lease.Spec.HolderIdentity, "the running pod holds the Lease")

	logs := f.KubectlOK(t, "", "-n", operatorNS, "logs", "deploy/postgres-operator")
	assert.Contains(t, logs, `"Leading"`)
	assert.Regexp(t, `"Starting" version="[^"]+"`, logs, "klog structured key=value lines")
	// An RBAC refusal names the ServiceAccount: "User \"system:serviceaccount:...\" cannot ...".
	denied := regexp.MustCompile(`system:serviceaccount:postgres-operator:postgres-operator\\?" cannot`)
	assert.Empty(t, denied.FindAllString(logs, 3), "every API call the operator made was allowed")
}

// The ClusterRole grants exactly what the operator uses: checked against
// the real API server's RBAC.
func TestOperatorRBAC(t *testing.T) {
	f := setup(t)
	sa := "system:serviceaccount:postgres-operator:postgres-operator"
	allowed := [][]string{
		{"list", "postgresclusters.postgres-operator.dev"}, {"watch", "postgresclusters.postgres-operator.dev"},
		{"update", "postgresclusters.postgres-operator.dev", "--subresource=status"},
		{"create", "pods"}, {"delete", "pods"}, {"patch", "pods"}, {"watch", "pods"},
		{"create", "persistentvolumeclaims"}, {"delete", "persistentvolumeclaims"}, {"patch", "persistentvolumeclaims"},
		{"create", "services"}, {"create", "secrets"}, {"list", "configmaps"},
		{"create", "events"}, {"update", "leases.coordination.k8s.io", "-n", operatorNS},
	}
	denied := [][]string{
		{"update", "postgresclusters.postgres-operator.dev"}, {"delete", "postgresclusters.postgres-operator.dev"},
		{"update", "secrets"}, {"delete", "secrets"}, {"get", "nodes"}, {"create", "deployments.apps"},
		{"create", "configmaps"}, {"escalate", "clusterroles.rbac.authorization.k8s.io"},
	}
	for _, a := range allowed {
		r := f.Run("", append([]string{"auth", "can-i", "--as", sa}, a...)...)
		assert.Equal(t, "yes", strings.TrimSpace(r.Stdout), "operator may %v", a)
	}
	for _, a := range denied {
		r := f.Run("", append([]string{"auth", "can-i", "--as", sa}, a...)...)
		assert.Equal(t, "no", strings.TrimSpace(r.Stdout), "operator may not %v", a)
	}
}

// The install manifests work both as plain YAML and as a Kustomization.
func TestManifestsApplyBothWays(t *testing.T) {
	f := setup(t)
	for _, args := range [][]string{{"-f", "manifests/"}, {"-k", "manifests/"}} {
		r := f.RunIn(f.Root, append([]string{"apply", "--dry-run=server"}, args...)...)
		require.NoError(t, r.Err, "kubectl apply %v: %s", args, r.Stderr)
		for _, obj := range []string{"customresourcedefinition", "clusterrole", "deployment.apps/postgres-operator"} {
			assert.Contains(t, r.Stdout, obj, "kubectl apply %v", args)
		}
	}
}
