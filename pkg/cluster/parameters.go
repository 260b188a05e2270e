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
// overlaid with spec.parameters.
func desiredParameters(pgc *v1alpha1.PostgresCluster) map[string]string {
	out := maps.Clone(defaultParameters)
	maps.Copy(out, pgc.Spec.Parameters)
	return out
}

// autoConf renders parameters in postgresql.auto.conf syntax, sorted so the
// output is stable.
func autoConf(params map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(params)) {
		fmt.Fprintf(&b, "%s = '%s'\n", k, strings.ReplaceAll(params[k], "'", "''"))
	}
	return b.String()
}
