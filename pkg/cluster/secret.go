package cluster

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

const (
	passwordKey = "password"
	usernameKey = "username"
)

// newPassword returns 32 random bytes as base64url: no ':' or '\', so it
// can go into a libpq password file unescaped.
func newPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// buildSuperuserSecret carries the superuser's password and how to reach
// the primary through the -rw Service.
func buildSuperuserSecret(pgc *v1alpha1.PostgresCluster, password string) *corev1.Secret {
	host := fmt.Sprintf("%s.%s.svc", RWServiceName(pgc.Name), pgc.Namespace)
	s := buildSecret(pgc, SuperuserSecretName(pgc.Name), "postgres", password)
	for k, v := range connectionDetails(host, "postgres", password, "postgres") {
		s.Data[k] = v
	}
	return s
}

// connectionSSLMode is the sslmode of the connection Secrets' URIs:
// encrypted, and usable as is. To also verify the server, a client uses
// the Secret's ca.crt with sslmode=verify-full (the README shows how).
const connectionSSLMode = "require"

// connectionDetails are a connection Secret's keys besides the password:
// host, port, dbname, sslmode, and ready-made uri and jdbc-uri.
func connectionDetails(host, user, password, dbname string) map[string][]byte {
	hostPort := fmt.Sprintf("%s:%d", host, postgresPort)
	uri := url.URL{Scheme: "postgresql", User: url.UserPassword(user, password), Host: hostPort,
		Path: "/" + dbname, RawQuery: "sslmode=" + connectionSSLMode}
	jdbc := url.URL{Scheme: "jdbc:postgresql", Host: hostPort, Path: "/" + dbname,
		RawQuery: url.Values{"user": {user}, "password": {password}, "sslmode": {connectionSSLMode}}.Encode()}
	return map[string][]byte{
		"host":     []byte(host),
		"port":     []byte(fmt.Sprint(postgresPort)),
		"dbname":   []byte(dbname),
		"sslmode":  []byte(connectionSSLMode),
		"uri":      []byte(uri.String()),
		"jdbc-uri": []byte(jdbc.String()),
	}
}

// buildReplicationSecret carries the replication user's password.
func buildReplicationSecret(pgc *v1alpha1.PostgresCluster, password string) *corev1.Secret {
	return buildSecret(pgc, ReplicationSecretName(pgc.Name), replicationUser, password)
}

func buildSecret(pgc *v1alpha1.PostgresCluster, name, user, password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       pgc.Namespace,
			Labels:          clusterLabels(pgc.Name),
			OwnerReferences: []metav1.OwnerReference{ownerRef(pgc)},
		},
		Type: corev1.SecretTypeBasicAuth,
		Data: map[string][]byte{usernameKey: []byte(user), passwordKey: []byte(password)},
	}
}

// buildUserSecret is the user-facing Secret of a role.
func buildUserSecret(pgc *v1alpha1.PostgresCluster, r pgRole, password string) *corev1.Secret {
	if r == superuserRole {
		return buildSuperuserSecret(pgc, password)
	}
	return buildReplicationSecret(pgc, password)
}
