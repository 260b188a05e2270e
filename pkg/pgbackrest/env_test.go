package pgbackrest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func envMap(env []corev1.EnvVar) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return m
}

func TestRepoEnvSplitsTheEndpoint(t *testing.T) {
	for endpoint, want := range map[string][2]string{
		"https://s3.object-store.svc":        {"s3.object-store.svc", "443"},
		"https://minio.example.com:9000/":    {"minio.example.com", "9000"},
		"https://s3.eu-west-1.amazonaws.com": {"s3.eu-west-1.amazonaws.com", "443"},
	} {
		env, err := RepoEnv(v1alpha1.ObjectStore{Endpoint: endpoint, Bucket: "b"}, "/ns/c")
		require.NoError(t, err, endpoint)
		m := envMap(env)
		assert.Equal(t, want[0], m["PGBACKREST_REPO1_S3_ENDPOINT"], endpoint)
		assert.Equal(t, want[1], m["PGBACKREST_REPO1_STORAGE_PORT"], endpoint)
		assert.Equal(t, "us-east-1", m["PGBACKREST_REPO1_S3_REGION"], "the default region")
		assert.Equal(t, "host", m["PGBACKREST_REPO1_S3_URI_STYLE"], "the default style")
		assert.Equal(t, "/ns/c", m["PGBACKREST_REPO1_PATH"])
	}
	for _, bad := range []string{"http://s3.example", "https://", "https://s3.example/bucket", "s3.example", "https://s3.example:99999"} {
		_, err := RepoEnv(v1alpha1.ObjectStore{Endpoint: bad}, "/p")
		assert.Error(t, err, bad)
	}
}

func TestRepoPathDefaultsToNamespaceAndName(t *testing.T) {
	assert.Equal(t, "/shop/db", RepoPath(v1alpha1.ObjectStore{}, "shop", "db"))
	assert.Equal(t, "/mine", RepoPath(v1alpha1.ObjectStore{Path: "/mine"}, "shop", "db"))
}

func TestKeysVolumeHoldsNoSecretValue(t *testing.T) {
	v := KeysVolume("repo-keys", v1alpha1.ObjectStore{Credentials: v1alpha1.SecretName{Secret: "creds"}, CA: &v1alpha1.SecretName{Secret: "ca"}})
	require.NotNil(t, v.Projected)
	require.Len(t, v.Projected.Sources, 2)
	assert.Equal(t, "creds", v.Projected.Sources[0].Secret.Name)
	assert.Equal(t, "ca", v.Projected.Sources[1].Secret.Name)
	assert.Equal(t, CAKey, v.Projected.Sources[1].Secret.Items[0].Path)
}

func TestPrefixedKeepsValues(t *testing.T) {
	out := Prefixed(SourcePrefix, []corev1.EnvVar{{Name: "PGBACKREST_REPO1_PATH", Value: "/src"}})
	assert.Equal(t, []corev1.EnvVar{{Name: "SOURCE_PGBACKREST_REPO1_PATH", Value: "/src"}}, out)
}
