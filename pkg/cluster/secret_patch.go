package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// patchSecret applies a merge patch to a Secret; verb names the change in
// the error ("updating", "labelling"). The operator may patch Secrets but
// never update them whole (RBAC), and a merge patch leaves keys it does not
// name, such as a password the user just changed, as they are.
func (c *Cluster) patchSecret(ctx context.Context, ns, name, verb string, patch map[string]any) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	if _, err := c.cfg.Kube.CoreV1().Secrets(ns).Patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("%s secret %s: %w", verb, name, err)
	}
	return nil
}

// dataPatch sets these keys (a nil value removes its key).
func dataPatch(data map[string][]byte) map[string]any { return map[string]any{"data": data} }

// clusterLabelPatch labels a Secret with its cluster, so that the
// operator's informers, which see only labelled Secrets, watch it.
func clusterLabelPatch(cluster string) map[string]any {
	return map[string]any{"metadata": map[string]any{"labels": map[string]string{ClusterLabel: cluster}}}
}
