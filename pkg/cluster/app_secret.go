package cluster

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// AppSecretName holds the application owner's password and how to connect
// as it to the application database.
func AppSecretName(cluster string) string { return cluster + "-app" }

// RoleSecretName holds the generated password of a declared login role
// without a passwordSecret. '_' is not allowed in object names; the CRD
// refuses two roles that differ only by '_' and '-'.
func RoleSecretName(cluster, role string) string {
	return cluster + "-role-" + strings.ReplaceAll(role, "_", "-")
}

// Keys of the application Secret besides username and password.
const (
	hostKey    = "host"
	portKey    = "port"
	dbnameKey  = "dbname"
	uriKey     = "uri"
	jdbcURIKey = "jdbc-uri"
)

// buildAppSecret is the one place that says what <cluster>-app holds: the
// owner's credentials and the connection details through the -rw Service,
// as keys and as URIs libpq and JDBC take as they are (sslmode=require),
// and ca.crt to verify the server with (sslmode=verify-full). Every key
// but the password is the operator's: the password is the user's to
// change.
func buildAppSecret(pgc *v1alpha1.PostgresCluster, password string, ca []byte) *corev1.Secret {
	user, db := pgc.Spec.AppOwner(), pgc.Spec.AppDatabase()
	host := fmt.Sprintf("%s.%s.svc", RWServiceName(pgc.Name), pgc.Namespace)
	s := buildSecret(pgc, AppSecretName(pgc.Name), user, password)
	for k, v := range connectionDetails(host, user, password, db) {
		s.Data[k] = v
	}
	if len(ca) > 0 {
		s.Data[caCertKey] = ca
	}
	return s
}

// buildRoleSecret is the generated password Secret of a declared role.
func buildRoleSecret(pgc *v1alpha1.PostgresCluster, role, password string) *corev1.Secret {
	return buildSecret(pgc, RoleSecretName(pgc.Name, role), role, password)
}

// appDetailsStale lists the keys of the application Secret that differ
// from what its password makes (the password itself excluded): the
// connection details follow a password the user changed, and whatever
// the operator adds to buildAppSecret later.
func appDetailsStale(pgc *v1alpha1.PostgresCluster, s *corev1.Secret, ca []byte) map[string][]byte {
	pw := string(s.Data[passwordKey])
	if validatePassword(pw) != nil {
		return nil // refused: nothing to build from (status says why)
	}
	stale := map[string][]byte{}
	for k, v := range buildAppSecret(pgc, pw, ca).Data {
		if k != passwordKey && string(s.Data[k]) != string(v) {
			stale[k] = v
		}
	}
	return stale
}
