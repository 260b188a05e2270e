package cluster

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	pgfake "postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned/fake"
)

// A cluster deleted and created again under the same name while a pass
// ran: the API server refuses the old pass's status write (the object's
// UID no longer matches) and the retry must not write it onto the new
// cluster. It did: the new cluster showed the old one's Ready status and
// numbered its first member after the old one's ordinals.
func TestStatusOfAReplacedClusterIsNotWritten(t *testing.T) {
	old := testCluster(1, initialized("demo-1", 1))
	old.UID = "old-uid"
	replacement := testCluster(1)
	replacement.UID = "new-uid"
	client := pgfake.NewClientset(replacement)
	// The fake API does not check UIDs; answer as the real one does.
	client.PrependReactor("update", "postgresclusters", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.UpdateAction)
		if u.GetSubresource() != "status" || u.GetObject().(*v1alpha1.PostgresCluster).UID == "new-uid" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "postgres-operator.dev", Resource: "postgresclusters"},
			old.Name, assert.AnError)
	})
	c := &Cluster{cfg: &Config{Client: client}}

	err := c.writeStatus(context.Background(), old, func(st *v1alpha1.PostgresClusterStatus) { st.LastOrdinal = 7 })

	require.ErrorIs(t, err, errClusterReplaced)
	stored, getErr := client.PostgresV1alpha1().PostgresClusters(old.Namespace).Get(context.Background(), old.Name, metav1.GetOptions{})
	require.NoError(t, getErr)
	assert.Zero(t, stored.Status.LastOrdinal, "the old pass's ordinals stay off the new cluster")
	assert.Equal(t, replacement.Status, stored.Status)
}
