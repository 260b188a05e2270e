# pgbr.sh: PostgreSQL's hooks into pgBackRest, written by member.sh to a
# file under the run directory. pgbr_keys (keys.sh) comes before this text.
#
#   pgbr.sh archive WAL_PATH       archive_command
#   pgbr.sh restore WAL_NAME DEST  restore_command of a recovering seed
#   pgbr.sh restore-backup ARGS    the restore of a recovering seed
#
# The archive hook also records, under ARCHIVE_STATUS_DIR on the volume,
# the engine's last error and the WAL files it dropped because the backlog
# hit its bound; the operator reads both over SQL (pg_read_file).
set -u

archive() {
	pgbr_keys /etc/pgbackrest/repo || {
		note_error "cannot read the object store's keys: Secret ${REPO_KEYS_SECRET:-?} must exist and hold ACCESS_KEY_ID and ACCESS_SECRET_KEY"
		exit 1
	}
	out=$(pgbackrest archive-push "$1" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q 'archive\.info'; then
		# A new repository (or path): create the stanza once, then retry.
		printf '%s\n' "$out" >&2
		out=$(pgbackrest stanza-create 2>&1 && pgbackrest archive-push "$1" 2>&1)
		rc=$?
	fi
	printf '%s\n' "$out" >&2
	if [ $rc -ne 0 ]; then
		note_error "$(printf '%s\n' "$out" | grep 'ERROR' | tail -n 1)"
	fi
	dropped=$(printf '%s\n' "$out" | grep -c 'dropped WAL file') || true
	if [ "$dropped" -gt 0 ]; then
		count=$(cat "$ARCHIVE_STATUS_DIR/dropped" 2>/dev/null || echo 0)
		echo $((count + dropped)) >"$ARCHIVE_STATUS_DIR/dropped"
	fi
	exit $rc
}

note_error() {
	mkdir -p "$ARCHIVE_STATUS_DIR"
	printf '%s\n' "${1:-archive-push failed}" | cut -c1-900 >"$ARCHIVE_STATUS_DIR/last-error.new" &&
		mv -f "$ARCHIVE_STATUS_DIR/last-error.new" "$ARCHIVE_STATUS_DIR/last-error"
}

# source_env makes the recovery source the engine's repository: its
# variables carry the SOURCE_ prefix so that archiving never writes into
# the source.
source_env() {
	for v in $(env | sed -n 's/^\(PGBACKREST_[A-Z0-9_]*\)=.*/\1/p'); do
		unset "$v"
	done
	for v in $(env | sed -n 's/^SOURCE_\(PGBACKREST_[A-Z0-9_]*\)=.*/\1/p'); do
		eval "export $v=\"\$SOURCE_$v\""
	done
	pgbr_keys /etc/pgbackrest/source || {
		echo "ERROR: cannot read the recovery source's keys: Secret ${SOURCE_KEYS_SECRET:-?} must exist and hold ACCESS_KEY_ID and ACCESS_SECRET_KEY" >&2
		exit 1
	}
}

case "${1:-}" in
archive) archive "$2" ;;
restore) source_env && exec pgbackrest archive-get "$2" "$3" ;;
restore-backup)
	shift
	source_env && exec pgbackrest restore --pg1-path="$PGDATA" "$@"
	;;
*)
	echo "usage: pgbr.sh archive WAL | restore WAL DEST | restore-backup ARGS" >&2
	exit 2
	;;
esac

