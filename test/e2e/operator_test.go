//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

const operatorNS = "postgres-operator"

// The operator runs two replicas under its own ServiceAccount: one holds the
// Lease and acts, the other stands by (Ready too, so rollouts and the
// PodDisruptionBudget count it); both log structured lines.
func TestOperatorDeployment(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	dep, err := f.Kube.AppsV1().Deployments(operatorNS).Get(ctx, "postgres-operator", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), *dep.Spec.Replicas)
	// A fault test before this one may have killed the leader: its
	// replacement is up within seconds.
	framework.Eventually(t, time.Minute, "both replicas Ready (the standby too), one holding the Lease", func() (bool, error) {
		d, err := f.Kube.AppsV1().Deployments(operatorNS).Get(ctx, "postgres-operator", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, leaseErr := f.LeaseHolder()
		return d.Status.ReadyReplicas == 2 && leaseErr == nil, framework.Errorf("ready=%d lease: %v", d.Status.ReadyReplicas, leaseErr)
	})
	spec := dep.Spec.Template.Spec
	assert.Equal(t, "postgres-operator", spec.ServiceAccountName)
	assert.True(t, *spec.SecurityContext.RunAsNonRoot)
	c := spec.Containers[0]
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	assert.NotNil(t, c.LivenessProbe)
	assert.NotNil(t, c.ReadinessProbe)
	assert.Contains(t, c.Args, "--leader-elect=true")

	framework.Eventually(t, 30*time.Second, "the PodDisruptionBudget lets one replica go at a time", func() (bool, error) {
		pdb, err := f.Kube.PolicyV1().PodDisruptionBudgets(operatorNS).Get(ctx, "postgres-operator", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return pdb.Spec.MinAvailable.IntValue() == 1 && pdb.Status.DisruptionsAllowed == 1,
			framework.Errorf("minAvailable=%s allowed=%d", pdb.Spec.MinAvailable, pdb.Status.DisruptionsAllowed)
	})

	pods, err := f.Kube.CoreV1().Pods(operatorNS).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=postgres-operator"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 2)
	leader, err := f.LeaseHolder()
	require.NoError(t, err)
	var standby string
	for _, p := range pods.Items {
		if p.Name != leader {
			standby = p.Name
		}
	}
	require.NotEmpty(t, standby, "the Lease holder %s is one of the two pods", leader)

	logs, err := f.OperatorLogs()
	require.NoError(t, err)
	assert.Contains(t, logs, `"Leading"`)
	assert.Regexp(t, `"Starting" version="[^"]+"`, logs, "klog structured key=value lines")
	standbyLogs := f.KubectlOK(t, "", "-n", operatorNS, "logs", standby)
	assert.Contains(t, standbyLogs, `"Another replica leads"`)
	assert.NotContains(t, standbyLogs, `"Leading"`)
	// An RBAC refusal names the ServiceAccount: "User \"system:serviceaccount:...\" cannot ...".
	denied := regexp.MustCompile(`system:serviceaccount:postgres-operator:postgres-operator\\?" cannot`)
	assert.Empty(t, denied.FindAllString(logs+standbyLogs, 3), "every API call the operator made was allowed")
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
		{"create", "services"}, {"patch", "services"}, {"create", "secrets"}, {"patch", "secrets"}, {"list", "configmaps"},
		{"create", "events"},
		{"update", "postgresclusters.postgres-operator.dev", "--subresource=finalizers"},
		// Its own Lease only: create cannot be limited by name.
		{"create", "leases.coordination.k8s.io", "-n", operatorNS},
		{"get", "leases.coordination.k8s.io/postgres-operator", "-n", operatorNS},
		{"update", "leases.coordination.k8s.io/postgres-operator", "-n", operatorNS},
	}
	denied := [][]string{
		{"update", "postgresclusters.postgres-operator.dev"}, {"delete", "postgresclusters.postgres-operator.dev"},
		{"update", "secrets"}, {"delete", "secrets"}, {"get", "nodes"}, {"create", "deployments.apps"},
		{"create", "configmaps"}, {"escalate", "clusterroles.rbac.authorization.k8s.io"},
		{"update", "leases.coordination.k8s.io/kube-scheduler", "-n", "kube-system"},
		{"update", "leases.coordination.k8s.io/other", "-n", operatorNS},
		{"create", "leases.coordination.k8s.io", "-n", "default"},
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
		for _, obj := range []string{"customresourcedefinition", "clusterrole", "deployment.apps/postgres-operator",
			"poddisruptionbudget.policy/postgres-operator", "role.rbac.authorization.k8s.io/postgres-operator-leader-election",
			"validatingadmissionpolicy.admissionregistration.k8s.io/postgres-operator-deletion-protection",
			"validatingadmissionpolicybinding.admissionregistration.k8s.io/postgres-operator-deletion-protection",
			"flowschema.flowcontrol.apiserver.k8s.io/postgres-operator-leader-election"} {
			assert.Contains(t, r.Stdout, obj, "kubectl apply %v", args)
		}
	}
}

// The namespaced overlay renders: Roles in the watched namespace and for the
// operator's own Lease, no cluster-wide rights, and the flag that limits
// the operator to that namespace.
func TestNamespacedManifestsRender(t *testing.T) {
	f := setup(t)
	r := f.RunIn(f.Root, "kustomize", "manifests/namespaced")
	require.NoError(t, r.Err, r.Stderr)
	out := r.Stdout
	assert.NotContains(t, out, "kind: ClusterRole\n")
	assert.NotContains(t, out, "kind: ClusterRoleBinding")
	assert.Regexp(t, `kind: Role\nmetadata:\n(  .*\n)*  name: postgres-operator\n  namespace: databases`, out)
	assert.Regexp(t, `kind: Role\nmetadata:\n(  .*\n)*  name: postgres-operator-leader-election\n  namespace: postgres-operator`, out)
	assert.Contains(t, out, "--namespaces=databases")
	for _, kind := range []string{"CustomResourceDefinition", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
		"PodDisruptionBudget", "Deployment", "ServiceAccount"} {
		assert.Contains(t, out, "kind: "+kind+"\n")
	}
}
