package backup

import (
	_ "embed"

	"postgres-operator.dev/postgres-operator/pkg/pgbackrest"
)

// backupScript is the body of the Job's command (see backup.sh).
//
//go:embed backup.sh
var backupScript string

// jobScript is the Job's whole command: pgbr_keys, then backup.sh.
func jobScript() string { return pgbackrest.KeysScript + "\n" + backupScript }

// Lines the script prints for the operator (backup.sh).
const (
	resultPrefix  = "BACKUP-RESULT "
	warningPrefix = "BACKUP-WARNING "
)
