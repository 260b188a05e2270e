#!/bin/sh
# Starts one PostgreSQL member. The operator passes this script as the
# container's command, so any image with the server binaries on PATH works;
# nothing here depends on an image's entrypoint.
#
# Inputs (from the pod spec): PGDATA, POD_NAME, BOOTSTRAP (initdb|clone),
# PRIMARY_HOST, SLOT_NAME, REPLICATION_USER, BOOTSTRAP_PARAMETERS (seed only),
# the role label in /etc/podinfo/labels and the passwords mounted under
# /etc/postgres-secrets. Passwords are read from files and never appear on a
# command line or in the log.
set -eu
umask 0077

RUN_DIR=/var/run/postgresql
PASSFILE=$RUN_DIR/.pgpass
HBA=$RUN_DIR/pg_hba.conf

log() { echo "member $POD_NAME: $*"; }

# role reads the role label at start: a member only ever runs as a primary
# when the operator has labelled it so, which fences a restarted old primary.
role() {
	sed -n 's/^postgres-operator\.dev\/role="\(.*\)"$/\1/p' /etc/podinfo/labels
}

write_passfile() {
	# The passwords are base64url, so they never contain ':' or '\'.
	{
		printf '*:*:*:%s:%s\n' "$REPLICATION_USER" "$(cat /etc/postgres-secrets/replication/password)"
		printf '*:*:*:postgres:%s\n' "$(cat /etc/postgres-secrets/superuser/password)"
	} >"$PASSFILE"
	chmod 0600 "$PASSFILE"
}

write_hba() {
	cat >"$HBA" <<-EOF
		# Written by the operator at every start; do not edit.
		local all all peer
		host replication $REPLICATION_USER all scram-sha-256
		host all all all scram-sha-256
	EOF
}

# init_seed runs initdb into a scratch directory and renames it into place,
# so a half-initialised data directory is never mistaken for a good one.
init_seed() {
	log "initdb"
	rm -rf "$PGDATA.init"
	initdb -D "$PGDATA.init" --username=postgres \
		--pwfile=/etc/postgres-secrets/superuser/password \
		--auth-local=peer --auth-host=scram-sha-256 \
		--data-checksums --encoding=UTF8 --no-locale >/dev/null
	printf '%s\n' "${BOOTSTRAP_PARAMETERS:-}" >>"$PGDATA.init/postgresql.auto.conf"
	mv "$PGDATA.init" "$PGDATA"
}

# clone copies the primary with pg_basebackup, through this member's slot.
clone() {
	log "cloning from $PRIMARY_HOST"
	rm -rf "$PGDATA.clone"
	until pg_isready -q -h "$PRIMARY_HOST" -p 5432 -t 2; do
		log "waiting for the primary"
		sleep 1
	done
	pg_basebackup -h "$PRIMARY_HOST" -p 5432 -U "$REPLICATION_USER" -w \
		-D "$PGDATA.clone" -X stream -S "$SLOT_NAME" --checkpoint=fast
	# The primary's own marker came along with the copy.
	rm -f "$PGDATA.clone/.was-primary"
	# A fresh copy is a standby from the start (see prepare_data).
	touch "$PGDATA.clone/standby.signal"
	mv "$PGDATA.clone" "$PGDATA"
}

# rewind brings a former primary back in line with the new primary. When
# rewind fails the data directory is moved aside and the member re-clones.
rewind() {
	log "rewinding against $PRIMARY_HOST"
	# A just-promoted primary records its new timeline in pg_control only at
	# its next checkpoint; without one pg_rewind would see "the same
	# timeline" and skip a rewind that is needed.
	until psql -h "$PRIMARY_HOST" -p 5432 -U postgres -d postgres -Atqc CHECKPOINT >/dev/null; do
		log "waiting for the primary to checkpoint"
		sleep 1
	done
	if pg_rewind -D "$PGDATA" --source-server="host=$PRIMARY_HOST port=5432 user=postgres dbname=postgres" 2>&1; then
		return
	fi
	log "pg_rewind failed: re-cloning"
	rm -rf "$PGDATA.failed"
	mv "$PGDATA" "$PGDATA.failed"
	clone
	rm -rf "$PGDATA.failed"
}

prepare_data() {
	if [ ! -s "$PGDATA/PG_VERSION" ]; then
		case "$BOOTSTRAP" in
		initdb) init_seed ;;
		*) clone ;;
		esac
	fi
	# Volume plugins that apply fsGroup may have widened the permissions.
	chmod 0700 "$PGDATA"
	if [ "$(role)" = primary ]; then
		rm -f "$PGDATA/standby.signal"
		# Remembered so that, should this member come back as a replica,
		# it rewinds away any WAL the new primary never saw.
		touch "$PGDATA/.was-primary"
		return
	fi
	# A data directory without standby.signal last ran as a primary: it was
	# started as one, or it was promoted at run time (promotion deletes the
	# file), which .was-primary, written only at start, does not record.
	if [ -f "$PGDATA/.was-primary" ] || [ ! -f "$PGDATA/standby.signal" ]; then
		rewind
		rm -f "$PGDATA/.was-primary"
	fi
	touch "$PGDATA/standby.signal"
}

mkdir -p "$RUN_DIR"
export PGPASSFILE="$PASSFILE"
# libpq waits for a TCP connect as long as the kernel retries SYNs (about two
# minutes). Right after a failover the -rw Service address can still lead to
# the dead primary for a moment, and psql, pg_rewind or pg_basebackup would
# hang on it; a bounded attempt fails fast and is retried on a fresh
# connection, which reaches the new primary.
export PGCONNECT_TIMEOUT=3
write_passfile
write_hba
prepare_data

log "starting postgres as $(role)"
# The WAL receiver connects asynchronously and so ignores connect_timeout: a
# connection that lands on a dead primary's address (the -rw Service right
# after a failover, before the node has its new endpoint) would wait out the
# kernel's SYN retries, about two minutes. tcp_user_timeout bounds it.
postgres -D "$PGDATA" \
	-c listen_addresses='*' -c port=5432 \
	-c hba_file="$HBA" -c unix_socket_directories="$RUN_DIR" \
	-c cluster_name="$POD_NAME" \
	-c wal_level=replica -c wal_log_hints=on -c hot_standby=on \
	-c password_encryption=scram-sha-256 \
	-c primary_conninfo="host=$PRIMARY_HOST port=5432 user=$REPLICATION_USER application_name=$POD_NAME passfile=$PASSFILE connect_timeout=2 tcp_user_timeout=5000" \
	-c primary_slot_name="$SLOT_NAME" \
	-c recovery_target_timeline=latest &
PID=$!
# Kubernetes stops a container with SIGTERM, which PostgreSQL reads as a
# "smart" shutdown that waits for every client. Turn it into a fast one.
trap 'kill -INT $PID 2>/dev/null' TERM INT
while :; do
	status=0
	wait $PID || status=$?
	# wait returns early when a trapped signal arrives; keep waiting until
	# postgres itself has exited, then exit with its status.
	kill -0 $PID 2>/dev/null || exit $status
done
