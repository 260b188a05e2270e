package cluster

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Reasons of the RolesInSync, DatabasesInSync and InitSQLApplied
// conditions; the failure reasons are also those of the Warning Events.
const (
	reasonManagedInSync  = "InSync"
	reasonManagedPending = "Pending"
	reasonRoleFailed     = "RoleFailed"
	reasonDatabaseFailed = "DatabaseFailed"
	reasonScriptsApplied = "Applied"
	reasonScriptFailed   = "InitSQLFailed"
)

// setManagedStatus reports the declared roles and databases as this pass
// knows them, after its action. Without a primary to read, the stored
// report stands.
func setManagedStatus(st *v1alpha1.PostgresClusterStatus, pgc *v1alpha1.PostgresCluster, obs *observation) {
	m := obs.managed
	if m == nil {
		return
	}
	setInitSQLStatus(st, pgc, m)
	if m.catalog == nil && !m.verified {
		return
	}
	st.Roles, st.Databases = nil, nil
	for _, r := range m.roles {
		st.Roles = append(st.Roles, m.roleStatus(r))
	}
	for _, d := range m.databases {
		st.Databases = append(st.Databases, m.databaseStatus(d))
	}
	setInSync(st, pgc, v1alpha1.ConditionRolesInSync, "role", reasonRoleFailed, st.Roles)
	setInSync(st, pgc, v1alpha1.ConditionDatabasesInSync, "database", reasonDatabaseFailed, st.Databases)
}

// lastFailure is the message of the last attempt on an item, if it failed.
func (m *managedObs) lastFailure(key string) string { return m.mem.tries[key].message }

func (m *managedObs) roleStatus(r wantRole) v1alpha1.ManagedStatus {
	st := v1alpha1.ManagedStatus{Name: r.Name, State: v1alpha1.StatePresent}
	if r.absent {
		st.State = v1alpha1.StateAbsent
	}
	if why := m.roleProblem(r); why != "" {
		st.State, st.Message = v1alpha1.StateFailed, why
	} else if d := m.roleDrift(r); d != "" {
		st.State, st.Message = v1alpha1.StatePending, (roleWork{wantRole: r, what: d}).String()
	} else if !r.absent && r.secret != "" && m.secrets[r.secret] == nil {
		st.State, st.Message = v1alpha1.StatePending, "waiting for Secret "+r.secret
	}
	return st
}

// roleProblem says why a role is not as declared and will not be until
// the user or the server changes something ("" when none).
func (m *managedObs) roleProblem(r wantRole) string {
	switch {
	case r.invalid != "":
		return r.invalid
	case m.roleDrift(r) != "":
		return m.lastFailure(roleKey(r.Name)) // a failure stands while the difference does
	case r.absent || r.secret == "":
		return ""
	}
	if other := m.foreign[r.secret]; other != "" {
		return fmt.Sprintf("Secret %s belongs to cluster %s: the role's password is left as it is", r.secret, other)
	}
	s := m.secrets[r.secret]
	if s == nil {
		return m.lastFailure("secret/" + r.secret)
	}
	if err := validatePassword(string(s.Data[passwordKey])); err != nil {
		return fmt.Sprintf("Secret %s: the password %v; the role keeps its current password", r.secret, err)
	}
	return ""
}

func (m *managedObs) databaseStatus(d wantDatabase) v1alpha1.ManagedStatus {
	st := v1alpha1.ManagedStatus{Name: d.name, State: v1alpha1.StatePresent}
	if d.absent {
		st.State = v1alpha1.StateAbsent
	}
	w := m.databaseDrift(d)
	why := d.invalid
	if why == "" && w != "" {
		why = m.lastFailure(databaseKey(d.name)) // a failure stands while the difference does
	}
	switch {
	case why != "":
		st.State, st.Message = v1alpha1.StateFailed, why
	case w != "":
		st.State, st.Message = v1alpha1.StatePending, (dbWork{wantDatabase: d, what: w}).String()
	}
	return st
}

func setInSync(st *v1alpha1.PostgresClusterStatus, pgc *v1alpha1.PostgresCluster, condition, what, failed string, items []v1alpha1.ManagedStatus) {
	var failures, pending []string
	for _, it := range items {
		switch it.State {
		case v1alpha1.StateFailed:
			failures = append(failures, fmt.Sprintf("%s %s: %s", what, it.Name, it.Message))
		case v1alpha1.StatePending:
			pending = append(pending, it.Message)
		}
	}
	c := metav1.Condition{Type: condition, Status: metav1.ConditionTrue, Reason: reasonManagedInSync,
		Message: fmt.Sprintf("every declared %s is as declared", what), ObservedGeneration: pgc.Generation}
	switch {
	case len(failures) > 0:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, failed, strings.Join(failures, "; ")
	case len(pending) > 0:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, reasonManagedPending, strings.Join(pending, "; ")
	}
	meta.SetStatusCondition(&st.Conditions, c)
}

// setInitSQLStatus reports the scripts; no condition without scripts.
func setInitSQLStatus(st *v1alpha1.PostgresClusterStatus, pgc *v1alpha1.PostgresCluster, m *managedObs) {
	scripts := pgc.Spec.InitSQL()
	if len(scripts) == 0 {
		removeCondition(&st.Conditions, v1alpha1.ConditionInitSQLApplied)
		return
	}
	n := m.applied(pgc)
	if n > 0 {
		st.InitSQL = &v1alpha1.InitSQLStatus{Applied: int32(n)}
	}
	db := pgc.Spec.AppDatabase()
	c := metav1.Condition{Type: v1alpha1.ConditionInitSQLApplied, Status: metav1.ConditionFalse,
		Reason: reasonManagedPending, ObservedGeneration: pgc.Generation,
		Message: fmt.Sprintf("%d of %d databaseInitSQL scripts ran; the next runs in database %s once it exists on a healthy primary", n, len(scripts), db)}
	switch {
	case n >= len(scripts):
		c.Status, c.Reason = metav1.ConditionTrue, reasonScriptsApplied
		c.Message = fmt.Sprintf("the %d databaseInitSQL scripts ran in database %s", len(scripts), db)
	case m.lastFailure(scriptKey(n)) != "":
		c.Reason = reasonScriptFailed
		c.Message = fmt.Sprintf("databaseInitSQL[%d] (%s) failed and was rolled back: %s; the scripts after it wait; it runs again on the next pass once its %s changes, or within a minute",
			n, describeSQLRef(scripts[n]), m.lastFailure(scriptKey(n)), scriptSource(scripts[n]))
	}
	meta.SetStatusCondition(&st.Conditions, c)
}

// announceManaged tells of each new failure once, in a Warning Event: a
// role or database whose failure message is new, a script that failed
// anew. Stored status is the memory, so an operator restart does not
// repeat them.
func (c *Cluster) announceManaged(pgc *v1alpha1.PostgresCluster, before, after *v1alpha1.PostgresClusterStatus) {
	announce := func(what, reason string, was, now []v1alpha1.ManagedStatus) {
		for _, s := range now {
			if s.State == v1alpha1.StateFailed && !hasFailure(was, s) {
				c.cfg.Recorder.Event(pgc, corev1.EventTypeWarning, reason, fmt.Sprintf("%s %s: %s", what, s.Name, s.Message))
			}
		}
	}
	announce("role", reasonRoleFailed, before.Roles, after.Roles)
	announce("database", reasonDatabaseFailed, before.Databases, after.Databases)
	now := meta.FindStatusCondition(after.Conditions, v1alpha1.ConditionInitSQLApplied)
	was := meta.FindStatusCondition(before.Conditions, v1alpha1.ConditionInitSQLApplied)
	if now != nil && now.Reason == reasonScriptFailed && (was == nil || was.Message != now.Message) {
		c.cfg.Recorder.Event(pgc, corev1.EventTypeWarning, reasonScriptFailed, now.Message)
	}
}

func hasFailure(list []v1alpha1.ManagedStatus, s v1alpha1.ManagedStatus) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
