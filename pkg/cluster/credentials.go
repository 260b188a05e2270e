package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Passwords live in three places, each with one job:
//
//   - the user-facing Secrets <cluster>-superuser and <cluster>-replication
//     hold the password the user wants each role to have;
//   - the operator's record, the Secret <cluster>-operator-credentials,
//     holds the password each role has now. The operator logs in with it
//     and member pods mount it, so neither ever uses a password the role
//     does not have yet;
//   - the actor's memory holds the last record it saw, so deleting both
//     Secrets while the operator runs loses nothing.
//
// A changed user Secret is a rotation: the record is updated first (keeping
// the superuser's previous password as a login fallback), then ALTER ROLE.
// A deleted user Secret is recreated from the record.

// CredentialsSecretName is the operator's record of the roles' passwords.
func CredentialsSecretName(cluster string) string { return cluster + "-operator-credentials" }

// Keys of the record. The member pods mount the first two.
const (
	recordSuperuserKey   = "superuser-password"
	recordReplicationKey = "replication-password"
	// recordPreviousKey is the superuser's password before the last
	// rotation: should the role still have it (the ALTER ROLE never ran,
	// or a failover lost it), the operator can still log in and repair.
	recordPreviousKey = "superuser-previous-password"
)

// DescriptionAnnotation explains an object to whoever finds it.
const DescriptionAnnotation = "postgres-operator.dev/description"

// pgRole is one of the two roles whose password the operator manages.
type pgRole struct{ name string }

var (
	superuserRole   = pgRole{name: "postgres"}
	replicationRole = pgRole{name: replicationUser}
	// managedRoles is in the order passwords are changed: the superuser
	// last, because the operator logs in as it.
	managedRoles = []pgRole{replicationRole, superuserRole}
)

// secret is the role's user-facing Secret.
func (r pgRole) secret(cluster string) string {
	if r == superuserRole {
		return SuperuserSecretName(cluster)
	}
	return ReplicationSecretName(cluster)
}

// passwords is the content of the record.
type passwords struct {
	superuser, replication, previous string
}

func recordOf(s *corev1.Secret) passwords {
	return passwords{
		superuser:   string(s.Data[recordSuperuserKey]),
		replication: string(s.Data[recordReplicationKey]),
		previous:    string(s.Data[recordPreviousKey]),
	}
}

// complete reports whether both roles' passwords are known.
func (p passwords) complete() bool { return p.superuser != "" && p.replication != "" }

func (p passwords) of(r pgRole) string {
	if r == superuserRole {
		return p.superuser
	}
	return p.replication
}

// with returns the record after the role's password became pw; a changed
// superuser password keeps the one it replaces as the fallback.
func (p passwords) with(r pgRole, pw string) passwords {
	if r == superuserRole {
		if p.superuser != pw && p.superuser != "" {
			p.previous = p.superuser
		}
		p.superuser = pw
		return p
	}
	p.replication = pw
	return p
}

// loginCandidates are the record's superuser passwords, in the order the
// operator tries them.
func (p passwords) loginCandidates() []string {
	out := []string{p.superuser}
	if p.previous != "" && p.previous != p.superuser {
		out = append(out, p.previous)
	}
	return out
}

func (p passwords) data() map[string][]byte {
	d := map[string][]byte{recordSuperuserKey: []byte(p.superuser), recordReplicationKey: []byte(p.replication)}
	if p.previous != "" {
		d[recordPreviousKey] = []byte(p.previous)
	}
	return d
}

// buildCredentialsSecret is the operator's record; it is owned by the
// cluster, so it goes with it.
func buildCredentialsSecret(pgc *v1alpha1.PostgresCluster, p passwords) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:            CredentialsSecretName(pgc.Name),
			Namespace:       pgc.Namespace,
			Labels:          clusterLabels(pgc.Name),
			Annotations:     map[string]string{DescriptionAnnotation: credentialsDescription(pgc.Name)},
			OwnerReferences: []metav1.OwnerReference{ownerRef(pgc)},
		},
		Type: corev1.SecretTypeOpaque,
		Data: p.data(),
	}
}

func credentialsDescription(cluster string) string {
	return fmt.Sprintf("The passwords the roles have now, kept by the operator. Do not edit or delete: "+
		"to change a password, edit %s or %s.", SuperuserSecretName(cluster), ReplicationSecretName(cluster))
}

// maxPasswordLen keeps a password within what every tool handles easily.
const maxPasswordLen = 1024

// validatePassword says why a password from a user Secret cannot be used.
// Printable ASCII only: a SCRAM verifier computed here must match what libpq
// computes (SASLprep changes some non-ASCII input), and a control character
// (most often the newline of `echo pw | base64`) would be silently dropped
// by the password file and initdb's --pwfile.
func validatePassword(pw string) error {
	switch {
	case pw == "":
		return fmt.Errorf("is empty")
	case len(pw) > maxPasswordLen:
		return fmt.Errorf("is longer than %d characters", maxPasswordLen)
	}
	for i := 0; i < len(pw); i++ {
		if pw[i] < 0x20 || pw[i] > 0x7e {
			return fmt.Errorf("contains a character other than printable ASCII at position %d (a trailing newline?)", i+1)
		}
	}
	return nil
}

// fingerprint identifies a password in the actor's memory (what was
// checked, what was reported) without keeping the password itself there.
func fingerprint(pw string) string {
	sum := sha256.Sum256([]byte(pw))
	return hex.EncodeToString(sum[:8])
}
