//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// Ten size-1 clusters applied in one manifest saturate this machine's two
// cores (ten initdbs, their probes). Every one becomes Ready on its first
// pod: no primary is fenced, recreated or killed by its liveness probe for
// being slow to start (they once were, every 15 s, and some never became
// Ready).
func TestManyClustersCreatedAtOnce(t *testing.T) {
	const n = 10
	f := setup(t)
	ns := f.Namespace(t, "many")
	var docs []string
	for i := range n {
		docs = append(docs, framework.ClusterYAML(fmt.Sprintf("m%d", i), 1, ""))
	}
	f.KubectlOK(t, strings.Join(docs, "---\n"), "-n", ns, "apply", "-f", "-")
	for i := range n {
		f.WaitReady(t, ns, fmt.Sprintf("m%d", i), 5*time.Minute)
	}

	events, err := f.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	for _, ev := range events.Items {
		switch ev.Reason {
		case "Fence", "RecreatePod", "DeletePod", "Killing":
			assert.Fail(t, "a member was stopped while the clusters started",
				"%s %s/%s: %s", ev.Reason, ev.InvolvedObject.Kind, ev.InvolvedObject.Name, ev.Message)
		}
	}
}
