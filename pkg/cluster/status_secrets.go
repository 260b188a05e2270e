package cluster

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Reasons of the PasswordsInSync condition.
const (
	reasonInSync          = "InSync"
	reasonPasswordRefused = "PasswordRefused"
	reasonLoginRefused    = "LoginRefused"
	reasonRecordMissing   = "RecordMissing"
	reasonSecretMissing   = "SecretMissing"
	reasonRepairPending   = "RepairPending"
	reasonRotationPending = "RotationPending"
)

// setPasswordsCondition tells whether the roles have the passwords the user
// Secrets ask for, and if not, why. It is left out until a record exists.
func setPasswordsCondition(st *v1alpha1.PostgresClusterStatus, pgc *v1alpha1.PostgresCluster, obs *observation) {
	ok, reason, msg := passwordsInSync(pgc, obs)
	if reason == "" {
		return
	}
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionPasswordsInSync,
		Status: status, Reason: reason, Message: msg, ObservedGeneration: pgc.Generation})
}

// passwordsInSync is pure: the condition of one pass's observation (taken
// before its action, so a rotation shows as pending for the pass that
// applies it).
func passwordsInSync(pgc *v1alpha1.PostgresCluster, obs *observation) (bool, string, string) {
	cr, name := obs.creds, pgc.Name
	if cr.record == nil {
		return false, "", ""
	}
	if rs := refusals(name, obs); len(rs) > 0 {
		return false, reasonPasswordRefused, rs[0].why
	}
	if p := obs.members.primary(); p != nil && cr.login == loginRefused {
		return false, reasonLoginRefused, lockoutReason(name, p.name)
	}
	if !cr.record.complete() || !cr.inAPI {
		return false, reasonRecordMissing, fmt.Sprintf("Secret %s is being written", CredentialsSecretName(name))
	}
	for _, r := range managedRoles {
		if obs.secrets[r.secret(name)] == nil {
			return false, reasonSecretMissing, fmt.Sprintf("Secret %s is missing and being recreated", r.secret(name))
		}
	}
	if cr.login == loginPrevious || cr.replicationStale {
		return false, reasonRepairPending, "a role on the primary lacks the recorded password"
	}
	if rs := pendingRotations(name, obs); len(rs) > 0 {
		return false, reasonRotationPending, fmt.Sprintf(
			"Secret %s changed: the new password is set on role %s when the primary is healthy", rs[0].secret(name), rs[0].name)
	}
	return true, reasonInSync, fmt.Sprintf("the roles have the passwords in %s and %s",
		SuperuserSecretName(name), ReplicationSecretName(name))
}
