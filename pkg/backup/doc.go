// Package backup is the controller of PostgresBackup resources and of the
// backup schedules of PostgresClusters.
//
// A PostgresBackup becomes one Job that runs pgBackRest next to the data: on
// the primary's node, with the primary's volume mounted read-only, the
// primary's image (which carries the engine) and PostgreSQL reached through
// the socket directory the members keep on that volume. The Job prints the
// engine's own record of the backup as its last log line; the controller
// reads it through the pods/log API and turns it into the backup's status.
// No agent runs in the PostgreSQL pods. One backup Job runs per cluster at
// a time; the others wait.
//
// After each backup, the completed backups the engine's retention removed
// from the store are marked Expired (their Jobs deleted); deleting a
// PostgresBackup never deletes a backup from the store.
//
// A schedule (spec.backup.schedule) becomes PostgresBackups named after
// their firing time, so a restarted operator never takes a firing twice and
// missed firings are taken once. They are owned by the cluster and go with
// it; the backups themselves stay in the store.
//
// This package never writes a PostgresCluster: its status belongs to the
// cluster's actor (pkg/cluster), which reads these PostgresBackups.
package backup
