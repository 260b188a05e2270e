package cluster

import (
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/pki"
)

// Test certificates are valid from 2000 for a century, so that fake
// clocks set anywhere near today find them fresh.
var (
	testTLSOnce sync.Once
	testCA      pki.Pair
)

// testTLS caches each cluster's Secrets, so that every fixture of a
// cluster sees the same certificates (and pods the same annotation).
var (
	testTLSMu sync.Mutex
	testTLS   = map[string][]runtime.Object{}
)

// tlsSecretsFor is a converged cluster's CA, server and client Secrets.
func tlsSecretsFor(t testing.TB, pgc *v1alpha1.PostgresCluster) []runtime.Object {
	t.Helper()
	testTLSMu.Lock()
	defer testTLSMu.Unlock()
	key := pgc.Namespace + "/" + pgc.Name
	if objs, ok := testTLS[key]; ok {
		return copyObjects(objs)
	}
	objs, err := issueTestTLS(pgc)
	if err != nil {
		t.Fatal(err)
	}
	testTLS[key] = objs
	return copyObjects(objs)
}

func copyObjects(objs []runtime.Object) []runtime.Object {
	out := make([]runtime.Object, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopyObject()
	}
	return out
}

// testCertificatesVersion is the CertificatesAnnotation of a converged
// member pod.
func testCertificatesVersion(pgc *v1alpha1.PostgresCluster) string {
	objs := tlsSecretsFor(panicTB{}, pgc)
	return certificatesVersion(tlsObs{server: objs[1].(*corev1.Secret), client: objs[2].(*corev1.Secret)})
}

// panicTB lets fixtures without a *testing.T reach tlsSecretsFor.
type panicTB struct{ testing.TB }

func (panicTB) Helper()           {}
func (panicTB) Fatal(args ...any) { panic(args) }

func issueTestTLS(pgc *v1alpha1.PostgresCluster) ([]runtime.Object, error) {
	since := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	const century = 100 * 365 * 24 * time.Hour
	testTLSOnce.Do(func() {
		var err error
		if testCA, err = pki.NewCA("test CA", century, since); err != nil {
			panic(err)
		}
	})
	server, err := pki.Issue(testCA, pki.Request{CommonName: "server", DNSNames: serverDNSNames(pgc), Lifetime: century}, since)
	if err != nil {
		return nil, err
	}
	client, err := pki.Issue(testCA, pki.Request{CommonName: "postgres", Lifetime: century, Client: true}, since)
	if err != nil {
		return nil, err
	}
	secret := func(name string, data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pgc.Namespace, Labels: clusterLabels(pgc.Name)}, Data: data}
	}
	return []runtime.Object{
		secret(CASecretName(pgc.Name), map[string][]byte{caCertKey: testCA.Cert, caKeyKey: testCA.Key}),
		secret(ServerTLSSecretName(pgc.Name), map[string][]byte{tlsCertKey: server.Cert, tlsKeyKey: server.Key, caCertKey: testCA.Cert}),
		secret(ClientTLSSecretName(pgc.Name), map[string][]byte{tlsCertKey: client.Cert, tlsKeyKey: client.Key,
			caCertKey: testCA.Cert, clientCACertKey: testCA.Cert}),
	}, nil
}

// withTLSSecrets adds the cluster's TLS Secrets unless the objects hold a
// CA Secret already (a test about the CA itself).
// The superuser and app Secrets get the CA, as the operator writes them.
func withTLSSecrets(t testing.TB, pgc *v1alpha1.PostgresCluster, objects []runtime.Object) []runtime.Object {
	for _, o := range objects {
		if s, ok := o.(*corev1.Secret); ok && s.Name == CASecretName(pgc.Name) {
			return objects
		}
	}
	tlsObjects := tlsSecretsFor(t, pgc)
	for i, o := range objects {
		if s, ok := o.(*corev1.Secret); ok && (s.Name == SuperuserSecretName(pgc.Name) || s.Name == AppSecretName(pgc.Name)) {
			s = s.DeepCopy()
			s.Data[caCertKey] = testCA.Cert
			objects[i] = s
		}
	}
	return append(objects, tlsObjects...)
}
