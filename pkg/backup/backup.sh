# The backup Job's command, after keys.sh (pgbackrest.KeysScript). It takes
# one base backup of the primary whose volume is mounted read-only at
# PGBACKREST_PG1_PATH, applies the retention by age, and ends its output with
# the engine's record of the backup, which the operator reads from the log:
#   BACKUP-WARNING <message>         (only when the retention failed)
#   BACKUP-RESULT <label> <json>     (pgbackrest info --output=json, one line)
# On failure the engine's ERROR goes to the termination log: the operator
# makes it the PostgresBackup's message, so a user reads the real reason
# (wrong keys, no such bucket, unreachable store, WAL not archived...).
# Environment: KEYS_DIR, KEYS_SECRET, BACKUP_TYPE, FULL_DAYS (empty: no
# retention by age) and the PGBACKREST_* settings; TERMINATION_LOG for tests.
set -eu

TERMINATION_LOG=${TERMINATION_LOG:-/dev/termination-log}
OUT=${TMPDIR:-/tmp}/engine.out

# fail MESSAGE: report the reason and stop.
fail() {
	printf '%s\n' "$1" >"$TERMINATION_LOG"
	printf 'backup failed: %s\n' "$1"
	exit 1
}

# engine_error FILE prints the engine's first "ERROR: [code]: ..." (without
# the time and process before it) with its indented continuation lines
# (hints), or the output's last line when there is none.
engine_error() {
	msg=$(awk '
		found && /^[ \t]/ { print; next }
		found { exit }
		/ERROR: \[/ { found = 1; sub(/.*ERROR: /, "ERROR: "); print }
	' "$1")
	[ -n "$msg" ] || msg=$(tail -n 1 "$1")
	printf '%s' "${msg:-the engine failed without a message}"
}

# run ARGS... runs the engine with its output both on ours (kubectl logs,
# while it runs) and in $OUT, and returns whether it succeeded.
run() {
	rm -f "$OUT.failed"
	{ pgbackrest "$@" 2>&1 || echo "$?" >"$OUT.failed"; } | tee "$OUT"
	[ ! -e "$OUT.failed" ]
}

mkdir -p "$PGBACKREST_LOCK_PATH"
pgbr_keys "$KEYS_DIR" ||
	fail "cannot read the object store's access keys: Secret $KEYS_SECRET must hold ACCESS_KEY_ID and ACCESS_SECRET_KEY"

# Idempotent: a no-op when the stanza exists and matches this database.
run stanza-create || fail "stanza-create failed: $(engine_error "$OUT")"
run --type="$BACKUP_TYPE" backup || fail "$(engine_error "$OUT")"
label=$(sed -n 's/.*new backup label = \([^ ]*\).*/\1/p' "$OUT" | tail -n 1)
[ -n "$label" ] || fail "the engine reported no backup label"

# The backup itself already expired by count (PGBACKREST_REPO1_RETENTION_FULL).
# A failure here leaves a good backup: warn, and the next backup retries.
warning=
if [ -n "$FULL_DAYS" ] &&
	! run --repo1-retention-full-type=time --repo1-retention-full="$FULL_DAYS" expire; then
	warning="retention by age (fullDays) not applied: $(engine_error "$OUT")"
fi

info=$(pgbackrest --output=json --log-level-console=off --log-level-stderr=error info 2>"$OUT") ||
	fail "backup $label was taken but reading the repository failed: $(engine_error "$OUT")"
if [ -n "$warning" ]; then
	printf 'BACKUP-WARNING %s\n' "$(printf '%s' "$warning" | tr '\n' ' ')"
fi
printf 'BACKUP-RESULT %s %s\n' "$label" "$(printf '%s' "$info" | tr -d '\n')"
