//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// The API server puts the operator's Lease requests in the leader-election
// priority level (manifests/rbac/lease_flow_schema.yaml), not in the flow
// of its other requests, where a burst of them delayed renewals until the
// Lease was lost. The server names the FlowSchema it chose in a response
// header; the request is made as the operator's service account.
func TestOperatorLeaseRequestsHaveTheirOwnPriorityLevel(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	schema, err := f.Kube.FlowcontrolV1().FlowSchemas().Get(ctx, "postgres-operator-leader-election", metav1.GetOptions{})
	require.NoError(t, err, "the install creates the FlowSchema")
	assert.Equal(t, "leader-election", schema.Spec.PriorityLevelConfiguration.Name)

	cfg, err := clientcmd.BuildConfigFromFlags("", f.Kubeconfig)
	require.NoError(t, err)
	cfg.Impersonate.UserName = "system:serviceaccount:" + framework.OperatorNamespace + ":postgres-operator"
	cfg.Impersonate.Groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + framework.OperatorNamespace, "system:authenticated"}
	seen := &flowSchemaHeader{}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { seen.next = rt; return seen })
	asOperator, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)

	_, err = asOperator.CoordinationV1().Leases(framework.OperatorNamespace).Get(ctx, "postgres-operator", metav1.GetOptions{})
	require.NoError(t, err, "the operator may read its Lease")
	assert.Equal(t, string(schema.UID), seen.uid, "the Lease request was classified by the operator's FlowSchema")

	_, err = asOperator.CoreV1().Pods(framework.OperatorNamespace).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, string(schema.UID), seen.uid, "its other requests are not")
}

// flowSchemaHeader keeps the FlowSchema UID of the last response.
type flowSchemaHeader struct {
	next http.RoundTripper
	uid  string
}

func (h *flowSchemaHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(req)
	if err == nil {
		h.uid = resp.Header.Get("X-Kubernetes-PF-FlowSchema-UID")
	}
	return resp, err
}
