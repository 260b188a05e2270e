package pgsim

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"postgres-operator.dev/postgres-operator/pkg/pki"
)

func caSecret(name string, labels map[string]string, ca pki.Pair) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns1", Labels: labels},
		Data: map[string][]byte{caCertKey: ca.Cert, caKeyKey: ca.Key}}
}

func TestKubeCASourceReadsTheClustersCASecret(t *testing.T) {
	ca, err := pki.NewCA("ns1/demo CA", time.Hour, time.Now())
	require.NoError(t, err)
	labelled := map[string]string{clusterLabel: "demo"}
	kube := fake.NewClientset(
		caSecret("demo-ca", labelled, ca),
		caSecret("late-ca", nil, ca), // not in the watch: read from the API
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "demo-superuser", Namespace: "ns1", Labels: labelled},
			Data: map[string][]byte{"password": []byte("x")}},
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := NewKubeCASource(ctx, kube)
	require.NoError(t, err)

	got, err := src.CA(ctx, "ns1", "demo")
	require.NoError(t, err)
	assert.Equal(t, ca, got)
	got, err = src.CA(ctx, "ns1", "late")
	require.NoError(t, err)
	assert.Equal(t, ca, got)
	_, err = src.CA(ctx, "ns1", "missing")
	assert.Error(t, err)

	other, err := src.lister.Secrets("ns1").Get("demo-superuser")
	require.NoError(t, err)
	assert.Empty(t, other.Data, "only CAs keep their data in the cache")
}
