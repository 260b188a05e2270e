package cluster

import (
	"bytes"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Actions that keep the passwords, the Secrets and the roles in line (see
// credentials.go). Each kind is also the reason of the Event it emits.
const (
	actRecordPasswords actionKind = "RecordPasswords"        // create or rewrite the operator's record
	actRestoreSecret   actionKind = "RestoreSecret"          // recreate, adopt or complete a user Secret
	actRotatePassword  actionKind = "RotatePassword"         // a user Secret changed: record, then ALTER ROLE
	actRepairPassword  actionKind = "RepairPassword"         // a role lacks the recorded password: ALTER ROLE
	actRefusePassword  actionKind = "PasswordRefused"        // a user Secret's password cannot be used: Warning Event
	actForgetPrevious  actionKind = "ForgetPreviousPassword" // every member has the new superuser password
)

// planCredentials keeps the record and the user Secrets present. It runs
// first: member pods mount the record and cannot start without it, and it
// needs nothing but the API.
func planCredentials(in planInput) (action, bool) {
	cr, name := in.obs.creds, in.cluster.Name
	initialized := in.cluster.Status.Initialized
	if cr.record == nil || !cr.record.complete() || !cr.inAPI {
		if !initialized {
			return action{kind: actCreateSecrets, reason: "generating the superuser and replication passwords"}, true
		}
		return action{kind: actRecordPasswords, phase: keptPhase(in.cluster), reason: recordReason(name, cr)}, true
	}
	for _, r := range managedRoles {
		if in.obs.secrets[r.secret(name)] != nil {
			continue
		}
		if !initialized {
			return action{kind: actCreateSecrets, reason: "creating the missing password Secret " + r.secret(name)}, true
		}
		return action{kind: actRestoreSecret, phase: keptPhase(in.cluster), reason: fmt.Sprintf(
			"Secret %s is missing: recreating it with the password role %s has", r.secret(name), r.name)}, true
	}
	if su := in.obs.secrets[SuperuserSecretName(name)]; connectionDetailsStale(in.cluster, su, cr.record.superuser) || caStale(su, in.obs.tls.serverBundle) {
		return action{kind: actRestoreSecret, phase: keptPhase(in.cluster), reason: fmt.Sprintf("updating the connection details (uri) in Secret %s", su.Name)}, true
	}
	return action{}, false
}

func recordReason(cluster string, cr credentialsObs) string {
	name := CredentialsSecretName(cluster)
	switch {
	case cr.record != nil && cr.record.complete():
		return fmt.Sprintf("Secret %s was deleted or damaged: recreating it from the operator's memory", name)
	case cr.record != nil:
		return fmt.Sprintf("Secret %s lacks a password: completing it from %s and %s",
			name, SuperuserSecretName(cluster), ReplicationSecretName(cluster))
	}
	return fmt.Sprintf("recording the roles' passwords from %s and %s in %s",
		SuperuserSecretName(cluster), ReplicationSecretName(cluster), name)
}

// planPasswords reports refused passwords, then, with a healthy primary,
// brings the roles in line with the record and the record with the user
// Secrets. It never stands before failover: a missing primary is the
// failover rules' business, and a rotation waits for the new one.
func planPasswords(in planInput) (action, bool) {
	cr := in.obs.creds
	if cr.record == nil {
		return action{}, false
	}
	if why := unreportedRefusals(in.cluster.Name, in.obs); len(why) > 0 {
		return action{kind: actRefusePassword, phase: keptPhase(in.cluster), reason: why[0]}, true
	}
	p := in.obs.members.primary()
	if !in.cluster.Status.Initialized || p == nil {
		return action{}, false
	}
	if cr.login == loginRefused {
		return action{kind: actWait, member: p.name, reason: lockoutReason(in.cluster.Name, p.name)}, true
	}
	if !p.healthy() {
		return action{}, false
	}
	switch {
	case cr.login == loginDesired:
		return action{kind: actRecordPasswords, member: p.name, phase: keptPhase(in.cluster), reason: fmt.Sprintf(
			"role postgres on %s has the password in Secret %s, not the recorded one: recording it", p.name, SuperuserSecretName(in.cluster.Name))}, true
	case cr.login == loginPrevious:
		return action{kind: actRepairPassword, member: p.name, phase: keptPhase(in.cluster), reason: fmt.Sprintf(
			"role postgres on %s still has its previous password: setting the recorded one", p.name)}, true
	case cr.replicationStale:
		return action{kind: actRepairPassword, member: p.name, phase: keptPhase(in.cluster), reason: fmt.Sprintf(
			"role %s on %s does not have the recorded password: setting it", replicationUser, p.name)}, true
	}
	if rs := pendingRotations(in.cluster.Name, in.obs); len(rs) > 0 {
		return action{kind: actRotatePassword, member: p.name, phase: keptPhase(in.cluster), reason: fmt.Sprintf(
			"Secret %s changed: setting its password on role %s", rs[0].secret(in.cluster.Name), rs[0].name)}, true
	}
	if cr.record.previous != "" && allOnCurrent(in.obs) {
		return action{kind: actForgetPrevious, member: p.name, phase: keptPhase(in.cluster),
			reason: "every member has the superuser's new password: forgetting the previous one"}, true
	}
	return action{}, false
}

// keptPhase is the phase of a password action: it takes milliseconds and
// changes nothing a user of the database sees, so a running cluster does
// not flip to Updating and back. In other phases (recovering, failing
// over) phaseOf decides as for any action.
func keptPhase(pgc *v1alpha1.PostgresCluster) v1alpha1.ClusterPhase {
	switch p := pgc.Status.Phase; p {
	case v1alpha1.PhaseRunning, v1alpha1.PhaseUpdating, v1alpha1.PhaseScaling:
		return p
	}
	return ""
}

// allOnCurrent reports whether every running member accepted the recorded
// superuser password this pass: the rotation has replayed everywhere, and
// no failover can bring the previous password back.
func allOnCurrent(obs *observation) bool {
	for _, m := range obs.members {
		if m.running() && (m.db == nil || m.login != obs.creds.record.superuser) {
			return false
		}
	}
	return true
}

func lockoutReason(cluster, primary string) string {
	return fmt.Sprintf("cannot log in to %s as postgres: it refuses the passwords in Secrets %s and %s; "+
		"put the password role postgres has into %s, or give the role the %s of %s "+
		"(kubectl exec -it %s -- psql -U postgres -c '\\password postgres')",
		primary, CredentialsSecretName(cluster), SuperuserSecretName(cluster),
		SuperuserSecretName(cluster), recordSuperuserKey, CredentialsSecretName(cluster), primary)
}

// userPassword is the password a user Secret asks for, if it is usable.
func userPassword(obs *observation, cluster string, r pgRole) (string, bool) {
	s := obs.secrets[r.secret(cluster)]
	if s == nil {
		return "", false
	}
	pw := string(s.Data[passwordKey])
	return pw, validatePassword(pw) == nil
}

// pendingRotations are the roles whose user Secret asks for a usable
// password other than the recorded one, in managedRoles order.
func pendingRotations(cluster string, obs *observation) []pgRole {
	var out []pgRole
	for _, r := range managedRoles {
		if pw, ok := userPassword(obs, cluster, r); ok && pw != obs.creds.record.of(r) {
			out = append(out, r)
		}
	}
	return out
}

// refusal is an unusable password in a user Secret.
type refusal struct {
	secret, fingerprint, why string
}

// refusals lists the user Secrets whose password cannot be used.
func refusals(cluster string, obs *observation) []refusal {
	var out []refusal
	for _, r := range managedRoles {
		s := obs.secrets[r.secret(cluster)]
		if s == nil {
			continue
		}
		pw := string(s.Data[passwordKey])
		if err := validatePassword(pw); err != nil {
			out = append(out, refusal{secret: s.Name, fingerprint: fingerprint(pw), why: fmt.Sprintf(
				"Secret %s: the password %v; role %s keeps its current password", s.Name, err, r.name)})
		}
	}
	return out
}

// unreportedRefusals are the refusals no Event has told yet.
func unreportedRefusals(cluster string, obs *observation) []string {
	var out []string
	for _, r := range refusals(cluster, obs) {
		if obs.creds.reported[r.secret] != r.fingerprint {
			out = append(out, r.why)
		}
	}
	return out
}

// connectionDetailsStale reports whether the superuser Secret, holding the
// recorded password, lacks a connection detail built from it (a user's
// extra keys are left alone).
func connectionDetailsStale(pgc *v1alpha1.PostgresCluster, s *corev1.Secret, recorded string) bool {
	if s == nil || string(s.Data[passwordKey]) != recorded {
		return false
	}
	for k, v := range buildSuperuserSecret(pgc, recorded).Data {
		if string(s.Data[k]) != string(v) {
			return true
		}
	}
	return false
}

// caStale reports whether a connection Secret lacks the CA clients verify
// the servers with (known once the certificates exist).
func caStale(s *corev1.Secret, ca []byte) bool {
	return s != nil && len(ca) > 0 && !bytes.Equal(s.Data[caCertKey], ca)
}
