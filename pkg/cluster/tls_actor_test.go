package cluster

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/pki"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

func (f *actorFixture) secretData(name string) map[string][]byte {
	s, err := f.kube.CoreV1().Secrets("ns").Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return s.Data
}

// A new cluster gets its CA, a server certificate for its Services' names
// and the superuser's client certificate before its first member.
func TestCertificatesComeBeforeTheFirstMember(t *testing.T) {
	pgc := testCluster(1)
	f := newActorFixtureAsIs(t, pgc)
	f.passUntil("the seed pod", f.exists(func() error { _, err := f.pod("demo-1"); return err }))

	ca := f.secretData("demo-ca")
	require.NotNil(t, ca)
	server := f.secretData("demo-server-tls")
	_, err := pki.Check(pki.Pair{Cert: server["tls.crt"], Key: server["tls.key"]}, ca["ca.crt"],
		[]string{"demo-rw", "demo-rw.ns.svc", "demo-ro.ns.svc.cluster.local"}, x509.ExtKeyUsageServerAuth, time.Now())
	assert.NoError(t, err)
	client := f.secretData("demo-client-tls")
	cert, err := pki.ParseCert(client["tls.crt"])
	require.NoError(t, err)
	assert.Equal(t, "postgres", cert.Subject.CommonName, "clientcert=verify-full matches it to the role")
	assert.Equal(t, ca["ca.crt"], client["client-ca.crt"])
	assert.Equal(t, ca["ca.crt"], f.secretData("demo-superuser")["ca.crt"], "the connection Secret carries the CA")
}

// With a third of its life left, a certificate is renewed (by the same
// CA) and the members are nudged to pick it up.
func TestCertificatesAreRenewed(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	pgc.Spec.TLS.CertificateLifetime = &metav1.Duration{Duration: 3 * time.Hour}
	primary := testMember(pgc, 1, up(RolePrimary))
	f := newActorFixtureAsIs(t, pgc, primary.pod, primary.pvc)
	f.db.Add("10.0.0.1", dbfake.Server{Status: postgres.Status{Timeline: 1}, Parameters: desiredParameters(pgc)})
	clock := testingclock.NewFakeClock(time.Now())
	f.c.cfg.Clock = clock
	f.passUntil("certificates", func() bool { return f.secretData("demo-client-tls") != nil })
	first := f.secretData("demo-server-tls")["tls.crt"]

	clock.Step(time.Hour)
	f.passUntil("a pass", func() bool { return true })
	assert.Equal(t, first, f.secretData("demo-server-tls")["tls.crt"], "two thirds left: kept")

	clock.Step(61 * time.Minute)
	f.passUntil("renewed", func() bool { return string(f.secretData("demo-server-tls")["tls.crt"]) != string(first) })
	assert.Contains(t, strings.Join(f.events(), "\n"), "IssueCertificates issued the server certificate")
	f.passUntil("the member nudged", func() bool {
		p, err := f.pod("demo-1")
		return err == nil && p.Annotations[CertificatesAnnotation] != primary.pod.Annotations[CertificatesAnnotation]
	})
}

// A user's server certificate that lacks the Services' names is reported,
// and the operator keeps control by connecting without verifying.
func TestUserServerCertificateWithoutTheNames(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	pgc.Spec.TLS.ServerCertificate = &v1alpha1.SecretName{Secret: "mine"}
	ca, err := pki.NewCA("user CA", 24*time.Hour, time.Now())
	require.NoError(t, err)
	wrong, err := pki.Issue(ca, pki.Request{CommonName: "x", DNSNames: []string{"elsewhere.example"}, Lifetime: time.Hour}, time.Now())
	require.NoError(t, err)
	mine := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: "ns"},
		Data: map[string][]byte{"tls.crt": wrong.Cert, "tls.key": wrong.Key, "ca.crt": ca.Cert}}
	primary := testMember(pgc, 1, up(RolePrimary))
	f := newActorFixtureAsIs(t, pgc, primary.pod, primary.pvc, mine)

	var c *metav1.Condition
	f.passUntil("reported", func() bool {
		c = meta.FindStatusCondition(f.current().Status.Conditions, v1alpha1.ConditionCertificatesReady)
		return c != nil && c.Reason == reasonServerCertUnusable
	})
	assert.Contains(t, c.Message, "Secret mine")
	assert.Nil(t, f.secretData("demo-server-tls"), "the user's certificate is not replaced")
	f.passUntil("the client certificate", func() bool { return f.secretData("demo-client-tls") != nil })
	assert.Equal(t, ca.Cert, f.secretData("demo-client-tls")["ca.crt"], "clients trust the user's CA")
	assert.Contains(t, strings.Join(f.events(), "\n"), "Warning ServerCertificateUnusable")
}
