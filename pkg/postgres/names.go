package postgres

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// maxIdentifierLen is NAMEDATALEN-1: PostgreSQL silently truncates longer
// names, so a longer name would never match itself in the catalogs.
const maxIdentifierLen = 63

// SlotName turns a member name such as "demo-12" into a valid replication
// slot name ("demo_12"): lower case, [a-z0-9_] only, at most 63 bytes.
// Member names are Kubernetes pod names ([a-z0-9-]), so the mapping does not
// collide in practice.
func SlotName(member string) string {
	b := []byte(strings.ToLower(member))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	return string(b[:min(len(b), maxIdentifierLen)])
}

var slotNameRE = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// validateSlotName applies the server's own rule for slot names, so a bad
// name fails here with a clear message instead of in SQL.
func validateSlotName(name string) error {
	if !slotNameRE.MatchString(name) {
		return fmt.Errorf("invalid replication slot name %q: want 1-63 of [a-z0-9_]", name)
	}
	return nil
}

// paramNameRE matches configuration parameter names, including custom ones
// such as "pg_stat_statements.max". They are spliced into ALTER SYSTEM
// unquoted, so this is also what keeps SQL out of them. It is the API's own
// rule, so the operator accepts exactly the names the CRD lets through.
var paramNameRE = regexp.MustCompile(v1alpha1.ParameterNamePattern)

// normalizeParamName lower-cases a parameter name (the server does, and
// postgresql.auto.conf stores it so) and validates it.
func normalizeParamName(name string) (string, error) {
	n := strings.ToLower(name)
	if len(n) > 2*maxIdentifierLen+1 || !paramNameRE.MatchString(n) {
		return "", fmt.Errorf("invalid parameter name %q", name)
	}
	return n, nil
}

// validateRoleName rejects names the server would truncate or cannot store.
// Any other string is fine: role names are always sent quoted.
func validateRoleName(role string) error {
	if role == "" || len(role) > maxIdentifierLen || strings.ContainsRune(role, 0) {
		return fmt.Errorf("invalid role name %q: want 1-63 bytes without NUL", role)
	}
	return nil
}

// SyncStandbyNames builds a synchronous_standby_names value that makes a
// commit wait for any k of the named standbys, e.g.
// SyncStandbyNames(1, []string{"demo-1", "demo-2"}) == `ANY 1 ("demo-1","demo-2")`.
//
// Names are double-quoted, so members with dashes or upper case work, and
// sorted, so the value does not change when only the order of names does.
// With k < 1 or no names it returns "", which turns synchronous replication
// off; k is capped at len(names) so commits cannot wait for standbys that do
// not exist.
func SyncStandbyNames(k int, names []string) string {
	if k < 1 || len(names) == 0 {
		return ""
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	quoted := make([]string, len(sorted))
	for i, n := range sorted {
		quoted[i] = `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
	}
	k = min(k, len(sorted))
	return "ANY " + strconv.Itoa(k) + " (" + strings.Join(quoted, ",") + ")"
}
