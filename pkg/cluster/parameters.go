package cluster

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// defaultParameters are settings the operator chooses unless the spec sets
// them. Settings the operator owns outright are passed on the postgres
// command line by member.sh instead, where nothing can override them.
var defaultParameters = map[string]string{
	// Replicas reconnect quickly after a failover moves the -rw Service,
	// and a promotion never waits out a long retry sleep of the startup
	// process (PostgreSQL 15 can sleep a whole interval before promoting).
	"wal_retrieve_retry_interval": "250ms",
	"max_wal_senders":             "20",
	"max_replication_slots":       "20",
	"hot_standby_feedback":        "on",
	"log_line_prefix":             "%m [%p] %q%u@%d ",
}

// desiredParameters is what postgresql.auto.conf should hold: the defaults
// overlaid with spec.parameters. The CRD refuses entries that break the
// file or that the operator owns; one stored before such a rule existed is
// left out here, so it can never stop a member from starting.
func desiredParameters(pgc *v1alpha1.PostgresCluster) map[string]string {
	out := maps.Clone(defaultParameters)
	maps.Copy(out, safetyParameters(pgc)) // safety_parameters.go
	maps.Copy(out, backupParameters(pgc)) // backup_pod.go
	for name, value := range pgc.Spec.Parameters {
		if v1alpha1.ValidateParameter(name, value) == nil {
			out[name] = value
		}
	}
	return out
}

// ownedParameterSet is v1alpha1.OwnedParameters as a set.
func ownedParameterSet() map[string]bool {
	set := make(map[string]bool, len(v1alpha1.OwnedParameters))
	for _, name := range v1alpha1.OwnedParameters {
		set[name] = true
	}
	return set
}

// autoConf renders parameters in postgresql.auto.conf syntax, one setting
// per line, sorted so the output is stable. It is the one place values are
// quoted for a configuration file.
func autoConf(params map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(params)) {
		fmt.Fprintf(&b, "%s = %s\n", k, confQuote(params[k]))
	}
	return b.String()
}

// confQuote quotes a value the way the configuration file parser
// (guc-file.l) reads it back unchanged: a quote is doubled, and since a
// backslash starts an escape there (\n, \t, octal; any other character
// stands for itself), a literal backslash is doubled too, as ALTER SYSTEM
// writes it. Control characters become escapes, so no value can end its
// line and start another setting.
func confQuote(v string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\'':
			b.WriteString("''")
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\%03o`, c) // three digits, so a digit after it stays a digit
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
