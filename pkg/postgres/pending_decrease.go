package postgres

// StandbyCheckedSettings are the settings a standby refuses to start with
// below its primary's values, which it reads from the primary's WAL
// ("recovery aborted because of insufficient parameter settings"). Raised,
// they restart replicas first, as any setting; lowered, the primary must
// run with the lower value before a replica restarts with it.
var StandbyCheckedSettings = []string{
	"max_connections", "max_locks_per_transaction", "max_prepared_transactions",
	"max_wal_senders", "max_worker_processes",
}

// pendingDecreaseQuery names the standby-checked settings waiting for a
// restart whose value in the config files (the last line that sets it, as
// the server reads them) is lower than the running one. The lateral read
// of pg_file_settings, which parses the files, runs only for a setting
// already waiting for a restart; a value that is not a plain integer
// compares as nothing rather than failing the probe. (A constant, as the
// probe's text is: TestPendingDecreaseQueryNamesEverySetting keeps its
// list and StandbyCheckedSettings the same.)
const pendingDecreaseQuery = `SELECT s.name FROM pg_settings s
       LEFT JOIN LATERAL (SELECT f.setting FROM pg_file_settings f WHERE f.name = s.name
                          ORDER BY f.seqno DESC LIMIT 1) f ON true
       WHERE s.pending_restart AND s.name IN ('max_connections', 'max_locks_per_transaction',
             'max_prepared_transactions', 'max_wal_senders', 'max_worker_processes')
         AND CASE WHEN f.setting ~ '^[0-9]+$' THEN f.setting::bigint END < s.setting::bigint
       ORDER BY s.name`
