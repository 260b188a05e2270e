//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// TLS is on by default: plain text is refused, verify-full against the
// -rw and -ro Services succeeds with the cluster's CA, replication runs
// over TLS, and the superuser's password alone does not log in over TCP
// (spec.superuserAccess is off) while the operator keeps working.
func TestTLSByDefault(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "tls")
	yaml := "apiVersion: postgres-operator.dev/v1alpha1\nkind: PostgresCluster\nmetadata: {name: sec}\n" +
		"spec: {size: 2, postgresVersion: 15, storage: {size: 1Gi}}\n"
	f.KubectlOK(t, yaml, "-n", ns, "apply", "-f", "-")
	f.WaitReady(t, ns, "sec", lifecycleReadyTimeout)
	pw := f.Password(t, ns, "sec")
	rw, ro := f.ServiceIP(t, ns, "sec-rw"), f.ServiceIP(t, ns, "sec-ro")
	certs := f.SecretFiles(t, ns, "sec-client-tls")
	su := f.SecretFiles(t, ns, "sec-superuser")
	password := []string{"PGPASSWORD=" + pw}

	_, err := framework.PSQLConn(fmt.Sprintf("host=%s user=postgres dbname=postgres sslmode=disable", rw), password, "select 1")
	assert.Error(t, err, "plain text is refused")
	out, err := framework.PSQLConn(fmt.Sprintf("host=%s user=postgres dbname=postgres sslmode=require", rw), password, "select 1")
	assert.Error(t, err, "the superuser's password alone does not log in over TCP: %s", out)
	_, err = framework.PSQLConn(fmt.Sprintf("host=sec-rw.%s.svc hostaddr=%s user=postgres dbname=postgres sslmode=verify-full sslrootcert=%s",
		ns, rw, filepath.Join(t.TempDir(), "none.crt")), password, "select 1")
	assert.Error(t, err, "verify-full without the CA fails")

	for svc, ip := range map[string]string{"sec-rw": rw, "sec-ro": ro} {
		conn := fmt.Sprintf("host=%s.%s.svc hostaddr=%s user=postgres dbname=postgres sslmode=verify-full sslrootcert=%s sslcert=%s sslkey=%s",
			svc, ns, ip, filepath.Join(su, "ca.crt"), filepath.Join(certs, "tls.crt"), filepath.Join(certs, "tls.key"))
		// The Service's endpoints follow readiness a moment after Ready.
		framework.Eventually(t, 30*time.Second, "verify-full against "+svc, func() (bool, error) {
			out, err := framework.PSQLConn(conn, password, "select ssl from pg_stat_ssl where pid = pg_backend_pid()")
			return err == nil && out == "t", framework.Errorf("%v: %s", err, out)
		})
	}

	primary, replicas := f.Roles(t, ns, "sec")
	require.Len(t, replicas, 1)
	assert.Equal(t, "t", f.PSQLLocal(t, ns, primary,
		"select bool_and(s.ssl) from pg_stat_replication r join pg_stat_ssl s using (pid)"), "replication over TLS")

	// With superuserAccess on (the members roll), the Secret's uri
	// connects as is.
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "sec", "--type=merge", "-p", `{"spec":{"superuserAccess":true}}`)
	uri := string(f.Secret(t, ns, "sec-superuser").Data["uri"])
	framework.Eventually(t, 2*time.Minute, "the superuser Secret's uri connects", func() (bool, error) {
		out, err := framework.PSQLConn(strings.Replace(uri, "sec-rw."+ns+".svc", rw, 1), nil,
			"select ssl from pg_stat_ssl where pid = pg_backend_pid()")
		return err == nil && out == "t", framework.Errorf("%v: %s", err, out)
	})
	f.WaitReady(t, ns, "sec", lifecycleReadyTimeout)
}

// Certificates renewed every 40 seconds (a 1-minute lifetime) reach the
// members without a restart while writes go on: replication and clients
// carry on, and the members serve the new certificate.
func TestTLSRotationUnderLoad(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "tls-rot")
	f.KubectlOK(t, framework.ClusterYAML("rot", 2, "  tls:\n    certificateLifetime: 1m\n"), "-n", ns, "apply", "-f", "-")
	f.WaitReady(t, ns, "rot", lifecycleReadyTimeout)
	pw := f.Password(t, ns, "rot")
	rw := f.ServiceIP(t, ns, "rot-rw")
	primary, replicas := f.Roles(t, ns, "rot")
	require.Len(t, replicas, 1)
	before := f.Pod(t, ns, primary)
	first := servedCertificate(t, before.Status.PodIP)
	require.NoError(t, framework.InitPgbench(rw, pw))

	var rounds []framework.PGBenchRound
	framework.Eventually(t, 2*time.Minute, "both members serve a renewed certificate", func() (bool, error) {
		rounds = append(rounds, framework.RunPGBenchRound(rw, pw, 2, 5*time.Second))
		p, r := servedCertificate(t, f.Pod(t, ns, primary).Status.PodIP), servedCertificate(t, f.Pod(t, ns, replicas[0]).Status.PodIP)
		return !p.Equal(first) && !r.Equal(first), framework.Errorf("primary serves serial %s, replica %s", p.SerialNumber, r.SerialNumber)
	})
	assertLoadSurvived(t, rounds)
	after := f.Pod(t, ns, primary)
	assert.Equal(t, containerRestarts(before), containerRestarts(after), "no restart")
	f.WaitStreaming(t, ns, primary, pw, replicas, time.Minute)
}

func containerRestarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

// servedCertificate is the certificate PostgreSQL at addr presents: the
// protocol's SSLRequest, then a TLS handshake that only reads it.
func servedCertificate(t *testing.T, ip string) *x509.Certificate {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "5432"), 3*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	req := make([]byte, 8)
	binary.BigEndian.PutUint32(req[0:4], 8)
	binary.BigEndian.PutUint32(req[4:8], 80877103) // SSLRequest
	_, err = conn.Write(req)
	require.NoError(t, err)
	answer := make([]byte, 1)
	_, err = conn.Read(answer)
	require.NoError(t, err)
	require.Equal(t, "S", string(answer), "the server accepts TLS")
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading the certificate, not trusting it
	require.NoError(t, tc.Handshake())
	return tc.ConnectionState().PeerCertificates[0]
}
