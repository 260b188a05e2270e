// Package pgbackrest renders the settings of pgBackRest, the backup engine,
// for the three places that run it: a member's archive_command, a seed that
// restores from backups, and a backup Job. The engine reads its settings
// from PGBACKREST_* environment variables; this package is the one place
// that knows their names. The access keys are never among them: the scripts
// read them from mounted Secret files just before running the engine, so a
// rotated key reaches the next run without a restart.
package pgbackrest
