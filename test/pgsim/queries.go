package pgsim

// queries is every statement the operator's client (pkg/postgres) sends,
// with the handler that answers it as a healthy PostgreSQL 15 primary of
// a size-1 cluster would. Each comment names the client function the
// statement comes from. Order matters only where one statement holds
// another's fragments: the more specific comes first.
//
// When pkg/postgres changes its SQL, pgsim_test.go fails (an unknown
// statement is answered with 0A000 and counted); add or adjust the entry
// here.
var queries = []entry{
	// Probe (probe.go): role, timeline, WAL positions and the safety
	// columns, in one statement.
	{match: having("(pg_control_system()).system_identifier", "LEFT JOIN pg_stat_wal_receiver w"), cols: probeColumns, run: probe},
	// Replication (replication.go): the walsenders; a size-1 cluster has none.
	{match: having("FROM pg_stat_replication ORDER BY application_name, pid"), cols: replicationColumns, run: noRows},
	// Slots (slots.go): every replication slot with its walsender.
	{match: having("FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid"), cols: slotsColumns, run: listSlots},
	// EnsureSlot (slots.go): does the slot exist, and of which type.
	{match: exactly(`SELECT slot_type FROM pg_replication_slots WHERE slot_name = $1`), cols: []column{col("slot_type", oidText)}, run: slotType},
	// EnsureSlot (slots.go): create it, reserving WAL at once.
	{match: exactly(`SELECT pg_create_physical_replication_slot($1, true)`), cols: []column{col("pg_create_physical_replication_slot", oidRecord)}, run: createSlot},
	// DropSlot (slots.go): end the slot's walsender; none is ever active here.
	{match: exactly(`SELECT pg_terminate_backend(active_pid, 1000) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`), cols: []column{col("pg_terminate_backend", oidBool)}, run: noRows},
	// DropSlot (slots.go): drop it if it exists.
	{match: exactly(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`), cols: []column{col("pg_drop_replication_slot", oidVoid)}, run: dropSlot},

	// AutoConf, SetParameters (params.go): what ALTER SYSTEM wrote.
	{match: having("SELECT name, setting FROM pg_file_settings", "/postgresql.auto.conf'"), cols: []column{col("name", oidText), col("setting", oidText)}, run: autoConf},
	// SetParameters (params.go): one setting per statement.
	{what: "ALTER SYSTEM", match: parsed(parseAlterSystem), noTxBlock: true, run: alterSystem},
	// SetParameters, Reload (params.go).
	{match: exactly(`SELECT pg_reload_conf()`), cols: []column{col("pg_reload_conf", oidBool)}, run: constant(true)},
	// PendingRestart (params.go): nothing ever waits for a restart here.
	{match: exactly(`SELECT ARRAY(SELECT name FROM pg_settings WHERE pending_restart ORDER BY name)`), cols: []column{col("array", oidTextArray)}, run: constant([]string{})},

	// Promote (promote.go): a primary is not in recovery, so Promote stops here.
	{match: exactly(`SELECT pg_is_in_recovery()`), cols: []column{col("pg_is_in_recovery", oidBool)}, run: constant(false)},
	// Promote (promote.go), were it ever asked of a primary.
	{match: exactly(`SELECT pg_promote(true, $1)`), cols: []column{col("pg_promote", oidBool)}, run: promote},
	// Checkpoint (promote.go).
	{match: exactly(`CHECKPOINT`), run: checkpoint},

	// EnsureRole (roles.go): the role's two flags.
	{match: exactly(`SELECT rolcanlogin, rolreplication FROM pg_roles WHERE rolname = $1`), cols: []column{col("rolcanlogin", oidBool), col("rolreplication", oidBool)}, run: roleFlags},
	// EnsureRole, EnsureManagedRole (roles.go, managed_roles.go).
	{what: "CREATE ROLE", match: parsed(parseRoleStatement("create")), write: true, run: createRole},
	// EnsureRole, SetPassword, EnsureManagedRole (roles.go, managed_roles.go).
	{what: "ALTER ROLE", match: parsed(parseRoleStatement("alter")), write: true, run: alterRole},
	// RoleHasPassword (roles.go): the stored verifier.
	{match: exactly(`SELECT rolpassword FROM pg_authid WHERE rolname = $1`), cols: []column{col("rolpassword", oidText)}, run: rolePassword},

	// Archiver (archiver.go): pg_stat_archiver and the hook's files.
	{match: having("FROM pg_stat_archiver", "pg_ls_dir('pg_wal/archive_status')"), cols: archiverColumns, run: archiver},
	// Stats (stats.go): the server version, asked first.
	{match: exactly(`SELECT current_setting('server_version_num')::int`), cols: []column{col("current_setting", oidInt4)}, run: serverVersion},
	// Stats (stats.go): everything else, in one statement.
	{match: having("FROM pg_stat_database", "(SELECT wal_bytes::bigint FROM pg_stat_wal)", "FROM pg_stat_bgwriter"), cols: statsColumns, run: stats},
	// CustomQueries (custom.go): the administrator's query, bounded.
	{match: matchCustomQuery, colsOf: customColumns, run: customQuery},

	// ReadCatalog (managed.go): the named roles and databases, as JSON.
	{match: having("FROM pg_authid a WHERE a.rolname = ANY($1)", "FROM pg_database d WHERE d.datname = ANY($2)"), cols: []column{col("coalesce", oidJSON), col("coalesce", oidJSON)}, run: readCatalog},
	// EnsureManagedRole, EnsureDatabase, DropDatabase, DropManagedRole (managed_roles.go).
	{match: exactly(`SET synchronous_commit TO local`), run: commandOnly("SET")},
	// EnsureManagedRole (managed_roles.go): the role as it is, with its memberships.
	{match: having("FROM pg_roles r WHERE r.rolname = $1", "FROM pg_auth_members m JOIN pg_roles g"), cols: roleColumns, run: roleRow},
	// EnsureManagedRole (managed_roles.go): memberships.
	{what: "GRANT", match: parsed(parseGrant), write: true, run: grantRole},
	{what: "REVOKE", match: parsed(parseRevoke), write: true, run: revokeRole},
	// DropManagedRole (managed_roles.go).
	{match: exactly(`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`), cols: []column{col("exists", oidBool)}, run: roleExists},
	{match: having("FROM pg_shdepend s LEFT JOIN pg_database d", "(SELECT oid FROM pg_roles WHERE rolname = $1)"), cols: dependencyColumns, run: roleDependencies},
	{what: "DROP OWNED", match: parsed(parseDropOwned), write: true, run: commandOnly("DROP OWNED")},
	{what: "DROP ROLE", match: parsed(parseDropRole), write: true, run: dropRole},

	// EnsureDatabase (managed_databases.go).
	{match: exactly(`SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`), cols: []column{col("pg_get_userbyid", oidName)}, run: databaseOwner},
	{what: "CREATE DATABASE", match: parsed(parseCreateDatabase), write: true, noTxBlock: true, run: createDatabase},
	{what: "ALTER DATABASE", match: parsed(parseAlterDatabaseOwner), write: true, run: alterDatabaseOwner},
	// EnsureExtensions (managed_databases.go), connected to the database.
	{what: "CREATE EXTENSION", match: parsed(parseCreateExtension), write: true, run: createExtension},
	// DropDatabase (managed_databases.go).
	{match: exactly(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`), cols: []column{col("exists", oidBool)}, run: databaseExists},
	{match: having("FROM pg_class c JOIN pg_namespace n", "SELECT (SELECT count(*) FROM t)"), cols: []column{col("count", oidInt8), col("coalesce", oidText)}, run: noUserTables},
	{what: "DROP DATABASE", match: parsed(parseDropDatabase), write: true, noTxBlock: true, run: dropDatabase},

	// Transactions: lib/pq's BeginTx, Commit, Rollback (RunScript,
	// CustomQueries, EnsureManagedRole).
	{match: parsed(parseBegin), run: begin},
	{match: parsed(parseCommit), endsTransaction: true, run: commit},
	{match: parsed(parseRollback), endsTransaction: true, run: rollback},
}
