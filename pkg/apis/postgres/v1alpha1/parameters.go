package v1alpha1

import (
	"fmt"
	"regexp"
	"slices"
)

// The rules for spec.parameters live here once. The CRD's CEL rules on
// PostgresClusterSpec.Parameters (types.go) spell the same pattern, list and
// limit, because a kubebuilder marker cannot refer to a Go constant;
// parameters_test.go fails when the generated CRD and these disagree.

// ParameterNamePattern is the name of a setting as the configuration file
// parser reads it (guc-file.l: an identifier, or two joined by one dot as in
// pg_stat_statements.max). It is stricter than that grammar in two ways:
// lower case only, because PostgreSQL lower-cases names and two spellings of
// one setting would fight each other; and at most 63 characters per part,
// because longer identifiers are truncated by ALTER SYSTEM and the setting
// would then never match its own name. A name like a.b.c passes none of
// the parsers and would stop the seed from ever starting.
//
// It is written for RE2 (Go's regexp and CEL's matches()), with [.] rather
// than an escaped dot so it reads the same in Go, CEL and YAML.
const ParameterNamePattern = `^[a-z_][a-z0-9_]{0,62}([.][a-z_][a-z0-9_]{0,62})?$`

// MaxParameterValueLength bounds a value of spec.parameters: the schema's
// maxLength on ParameterValue. No real setting comes near it. The bound
// keeps postgresql.auto.conf small, and it is what lets the API server
// accept the CEL rule on values, whose cost it estimates from the longest
// string a value may be.
const MaxParameterValueLength = 4096

// ParameterValue is the value of one setting: at most 4096 characters on
// one line.
// +kubebuilder:validation:MaxLength=4096
type ParameterValue = string // an alias, so Go code keeps a map[string]string

// parameterValueForbidden matches what a value may not contain: control
// characters. A newline (or carriage return) would end the line in
// postgresql.auto.conf and start another setting; NUL cannot be stored.
const parameterValueForbidden = `[[:cntrl:]]`

// OwnedParameters are the settings the operator decides itself:
// spec.parameters may not set them, and the operator never resets them.
// Keep member.sh's `-c name=` options in this list (a test checks).
var OwnedParameters = []string{
	// Where PostgreSQL listens and finds its files (member.sh).
	"listen_addresses", "port", "unix_socket_directories",
	"data_directory", "config_file", "hba_file", "ident_file", "external_pid_file",
	"cluster_name",
	// Replication and failover (member.sh, and synchronous_standby_names
	// over SQL): a different value breaks streaming or loses commits.
	"wal_level", "wal_log_hints", "hot_standby",
	"primary_conninfo", "primary_slot_name", "synchronous_standby_names", "promote_trigger_file",
	// How often standbys reply: a primary's self-fencing counts the
	// replies as proof that it is not cut off (pkg/cluster/fence_probe.go).
	"wal_receiver_status_interval",
	// Recovery runs shell commands and decides where replay stops: a
	// replica told to stop at a target no longer follows the primary.
	"recovery_target_timeline", "restore_command", "archive_cleanup_command", "recovery_end_command",
	"recovery_target", "recovery_target_lsn", "recovery_target_name", "recovery_target_time",
	"recovery_target_xid", "recovery_target_inclusive", "recovery_target_action",
	// WAL archiving belongs to the backup machinery.
	"archive_mode", "archive_command", "archive_library",
	// Authentication: the Secrets hold SCRAM verifiers.
	"password_encryption",
	// TLS: the operator's certificates (member.sh, tls_pod.go).
	"ssl", "ssl_cert_file", "ssl_key_file", "ssl_ca_file",
}

var parameterNameRE = regexp.MustCompile(ParameterNamePattern)
var parameterValueForbiddenRE = regexp.MustCompile(parameterValueForbidden)

// IsOwnedParameter reports whether name is one of OwnedParameters.
func IsOwnedParameter(name string) bool { return slices.Contains(OwnedParameters, name) }

// ValidateParameter applies the CRD's rules for one entry of
// spec.parameters. The API server enforces them on every write; the
// operator checks again so that an object stored before a rule existed
// cannot break a member's configuration file.
func ValidateParameter(name, value string) error {
	switch {
	case !parameterNameRE.MatchString(name):
		return fmt.Errorf("parameters: %q is not a PostgreSQL setting name", name)
	case IsOwnedParameter(name):
		return fmt.Errorf("parameters: %s is set by the operator", name)
	case len(value) > MaxParameterValueLength:
		return fmt.Errorf("parameters: the value of %s is longer than %d characters", name, MaxParameterValueLength)
	case parameterValueForbiddenRE.MatchString(value):
		return fmt.Errorf("parameters: the value of %s contains a control character such as a newline", name)
	}
	return nil
}
