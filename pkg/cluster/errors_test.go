package cluster

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestNamespaceTerminatingIsRecognisedThroughWrapping(t *testing.T) {
	refused := apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "demo-superuser",
		fmt.Errorf("unable to create new content in namespace ns because it is being terminated"))
	refused.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}

	assert.True(t, namespaceTerminating(fmt.Errorf("CreateSecrets: %w", refused)))
	assert.False(t, namespaceTerminating(fmt.Errorf("CreateSecrets: %w",
		apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "demo-superuser", fmt.Errorf("RBAC")))))
	assert.False(t, namespaceTerminating(fmt.Errorf("plain")))
}

// A primary whose pod vanished between the lister's view and the fence is
// already fenced: the pass succeeds instead of reporting an error.
func TestFencingAPodThatIsAlreadyGoneSucceeds(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	f := newActorFixture(t, pgc)
	obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary)), testMember(pgc, 2, up(RoleReplica)))

	err := f.c.fence(f.ctx, pgc, obs, action{kind: actFence, member: "demo-1"})
	require.NoError(t, err)
}
