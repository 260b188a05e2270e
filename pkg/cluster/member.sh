#!/bin/sh
# Starts one PostgreSQL member. The operator passes this script as the
# container's command, so any image with the server binaries on PATH works;
# nothing here depends on an image's entrypoint.
#
# Inputs (from the pod spec): PGDATA, POD_NAME, BOOTSTRAP (initdb|clone|recovery),
# PRIMARY_HOST, PRIMARY_CONNINFO, SLOT_NAME, REPLICATION_USER,
# BOOTSTRAP_PARAMETERS (seed only), POSTGRES_MAJOR,
# the role label in /etc/podinfo/labels and the passwords the roles have,
# mounted under /etc/postgres-secrets from the operator's record. Passwords
# are read from files and never appear on a command line or in the log.
# With backups on: PGBACKREST_* (the engine's settings), PGBR_SCRIPT (the
# hooks, pgbr.sh) and, for a seed that restores, SOURCE_PGBACKREST_* and
# RECOVERY_TYPE, RECOVERY_TARGET, RECOVERY_EXCLUSIVE.
set -eu
umask 0077

RUN_DIR=/var/run/postgresql
# The name must contain "pgbackrest": the engine checks archive_command for it.
PGBR="$RUN_DIR/pgbackrest-hooks.sh"
# Marks a restore in progress: a data directory restored halfway is never
# mistaken for a good one.
RESTORING="$(dirname "$PGDATA")/.restoring"
PASSFILE=$RUN_DIR/.pgpass
HBA=$RUN_DIR/pg_hba.conf
# The certificates (tls_pod.go): server.*, client.* (the superuser's),
# ca.crt (verifies servers), client-ca.crt (verifies client certificates).
TLS_DIR=/etc/postgres-tls

# STEP is what the script last logged it was doing.
STEP="starting"
log() {
	STEP=$*
	echo "member $POD_NAME: $*"
}

# on_exit leaves, on a failed exit, the last step as the container's
# termination message (unless check_major wrote one): the operator quotes
# it when it replaces the pod, so the reason outlives the pod and its log.
on_exit() {
	status=$?
	[ "$status" -ne 0 ] || return 0
	msg=${TERMINATION_LOG:-/dev/termination-log}
	[ ! -s "$msg" ] || return 0
	if volume_full; then
		STEP="$STEP; the volume is full ($free_kb kB free): grow spec.storage.size"
	fi
	printf 'exit status %s while: %s\n' "$status" "$STEP" 2>/dev/null >"$msg" || true
}

# volume_full: the data volume has less room left than one WAL segment. A
# server that cannot write WAL stops (PANIC) and cannot finish its crash
# recovery either, nor can a clone finish; PostgreSQL's own words about it
# go with the pod's log, the termination message stays.
volume_full() {
	free_kb=$(df -Pk "${PGDATA:-}" 2>/dev/null | awk 'NR == 2 { print $4 }')
	[ -n "$free_kb" ] && [ "$free_kb" -lt 16384 ]
}
trap on_exit EXIT

# role reads the role label at start: a member only ever runs as a primary
# when the operator has labelled it so, which fences a restarted old primary.
role() {
	sed -n 's/^postgres-operator\.dev\/role="\(.*\)"$/\1/p' /etc/podinfo/labels
}

# passfile_line prints a role's line of the password file from its mounted
# password, with ':' and '\' escaped as libpq reads them. It fails on a
# missing or empty password rather than write a line that cannot log in.
# printf is a shell builtin: the password is on no command line.
passfile_line() {
	pw=$(cat "/etc/postgres-secrets/$2/password") && [ -n "$pw" ] || return 1
	printf '*:*:*:%s:%s\n' "$1" "$(printf '%s' "$pw" | sed 's/[\\:]/\\&/g')"
}

# write_passfile writes the password file from the operator's record of the
# passwords the roles have (mounted by pod.go), replacing it with one
# rename so that a connection never reads half a file.
write_passfile() {
	{
		passfile_line "$REPLICATION_USER" replication &&
			passfile_line postgres superuser
	} >"$PASSFILE.new" || {
		rm -f "$PASSFILE.new"
		return 1
	}
	chmod 0600 "$PASSFILE.new"
	mv -f "$PASSFILE.new" "$PASSFILE"
}

# keep_passfile_current rewrites the password file while the member runs.
# After the operator changes a role's password the kubelet updates the
# mounted record within about a minute, and connections made from then on
# need the new password: the WAL receiver reconnecting after a failover,
# pg_rewind, pg_basebackup. Connections already open are not affected.
keep_passfile_current() {
	while sleep 5; do
		write_passfile 2>/dev/null || log "cannot read the mounted passwords: keeping the password file as it is"
	done
}

# tls_on: pods made before TLS existed have no certificates and keep
# plain text until they roll.
tls_on() { [ -s "$TLS_DIR/server.crt" ]; }

# write_hba: over TCP only TLS, and a password for every role. Without
# SUPERUSER_ACCESS the superuser also needs the client certificate the
# operator holds (clientcert=verify-full matches its name to the role), so
# its password alone logs in only over the local socket.
write_hba() {
	if ! tls_on; then
		cat >"$HBA" <<-EOF
			# Written by the operator at every start; do not edit.
			local all all peer
			host replication $REPLICATION_USER all scram-sha-256
			host all all all scram-sha-256
		EOF
		return
	fi
	superuser="hostssl all postgres all scram-sha-256 clientcert=verify-full"
	if [ "${SUPERUSER_ACCESS:-false}" = true ]; then
		superuser="# spec.superuserAccess: the superuser logs in with its password"
	fi
	cat >"$HBA" <<-EOF
		# Written by the operator at every start; do not edit.
		local all all peer
		hostssl replication $REPLICATION_USER all scram-sha-256
		$superuser
		hostssl all all all scram-sha-256
	EOF
}

# use_tls makes every libpq client of this script (psql, pg_basebackup,
# pg_rewind, and the WAL receiver, which inherits the environment) verify
# the server by name and present the superuser's certificate. Connections
# over the local socket ignore these.
use_tls() {
	export PGSSLMODE=verify-full PGSSLROOTCERT="$TLS_DIR/ca.crt" \
		PGSSLCERT="$TLS_DIR/client.crt" PGSSLKEY="$TLS_DIR/client.key"
}

# tls_sum fingerprints the mounted certificates and keys (md5sum: the
# images' busybox has no cksum).
tls_sum() { cat "$TLS_DIR"/*.crt "$TLS_DIR"/*.key 2>/dev/null | md5sum || true; }

# keep_tls_current reloads PostgreSQL when the kubelet has refreshed the
# certificates (a renewal, a new user certificate): the server reads them
# again on SIGHUP, and no connection is dropped.
keep_tls_current() {
	tls_on || return 0
	sum=$(tls_sum)
	while sleep 5; do
		now=$(tls_sum)
		if [ "$now" != "$sum" ]; then
			log "the certificates changed: reloading"
			kill -HUP "$1" 2>/dev/null || return 0
			sum=$now
		fi
	done
}

# write_checked_parameters CONF BASE PARAMS writes BASE's lines, then PARAMS
# (one setting per line), into CONF, a data directory's postgresql.auto.conf.
# "postgres -C" parses every configuration file and fails on a bad name or
# value: when the whole set fails, each line is tried on its own and the
# refused ones are left out and logged, so no value keeps the server from
# starting. The operator reports the refused ones in the cluster's status.
write_checked_parameters() {
	conf=$1
	base=$2
	params=$3
	dir=$(dirname "$conf")
	{
		cat "$base"
		printf '%s\n' "$params"
	} >"$conf"
	if postgres -D "$dir" -C max_connections >/dev/null 2>&1; then
		return 0
	fi
	log "PostgreSQL refuses some of spec.parameters: checking them one by one"
	cp "$base" "$conf"
	printf '%s\n' "$params" | while IFS= read -r line; do
		[ -n "$line" ] || continue
		cp "$conf" "$conf.ok"
		printf '%s\n' "$line" >>"$conf"
		if ! err=$(postgres -D "$dir" -C max_connections 2>&1 >/dev/null); then
			log "left out $line, which PostgreSQL refuses: $(printf '%s\n' "$err" | sed -n 's/^.*LOG: *//p')"
			mv "$conf.ok" "$conf"
		fi
	done
	rm -f "$conf.ok"
	# Settings that are fine alone may still clash together.
	if ! postgres -D "$dir" -C max_connections >/dev/null 2>&1; then
		log "PostgreSQL refuses the remaining parameters together: starting without any of them"
		cp "$base" "$conf"
	fi
}

# apply_spec_parameters rewrites postgresql.auto.conf at every start from the
# spec as it is now (SPEC_PARAMETERS, rendered as BOOTSTRAP_PARAMETERS is),
# keeping only what the operator writes there over SQL besides:
# synchronous_standby_names (a primary must not start without it in sync
# mode) and primary_conninfo (written next, by set_primary_conninfo). While
# the member runs, the operator keeps the file in line with ALTER SYSTEM;
# this start-time copy is what lets a fixed spec reach a member that cannot
# start, such as one whose shared_buffers ALTER SYSTEM took but the machine
# cannot give: without it the bad value would stay in the file for good.
apply_spec_parameters() {
	[ -n "${SPEC_PARAMETERS+set}" ] || return 0
	conf=$PGDATA/postgresql.auto.conf
	grep -E '^(#|synchronous_standby_names = )' "$conf" >"$conf.keep" 2>/dev/null || true
	write_checked_parameters "$conf" "$conf.keep" "$SPEC_PARAMETERS"
	rm -f "$conf.keep"
}

# init_seed runs initdb into a scratch directory and renames it into place,
# so a half-initialised data directory is never mistaken for a good one.
#
# spec.parameters and the operator's defaults (BOOTSTRAP_PARAMETERS, one
# setting per line: the operator escapes line breaks in values, so no value
# adds a line of its own) go into postgresql.auto.conf, so restart-only
# settings apply from the first start. A value PostgreSQL refuses there would
# keep the server from ever starting, and no later spec fix would reach it.
# "postgres -C" parses every configuration file and fails on a bad name or
# value: when the whole set fails, each line is tried on its own and the
# refused ones are left out and logged. The operator then applies
# spec.parameters over SQL and reports the refused ones in the cluster's
# status.
init_seed() {
	log "initdb"
	rm -rf "$PGDATA.init"
	initdb -D "$PGDATA.init" --username=postgres \
		--pwfile=/etc/postgres-secrets/superuser/password \
		--auth-local=peer --auth-host=scram-sha-256 \
		--data-checksums --encoding=UTF8 --no-locale >/dev/null
	conf="$PGDATA.init/postgresql.auto.conf"
	cp "$conf" "$conf.initdb"
	write_checked_parameters "$conf" "$conf.initdb" "${BOOTSTRAP_PARAMETERS:-}"
	rm -f "$conf.initdb"
	mv "$PGDATA.init" "$PGDATA"
}

# restore_seed fills the seed's volume from backups (spec.bootstrap.recovery,
# or the cluster's own backups after every volume was lost), replays WAL to
# the target in a server no client can reach, and lets it promote. A target
# that cannot be reached ends the container with the reason in its
# termination message, which the operator reports.
restore_seed() {
	log "restoring from the backups at ${SOURCE_PGBACKREST_REPO1_PATH:-?} (target: $RECOVERY_TYPE ${RECOVERY_TARGET:-})"
	touch "$RESTORING"
	rm -rf "$PGDATA"
	set --
	case "$RECOVERY_TYPE" in
	default) ;;
	immediate) set -- --type=immediate --target-action=promote ;;
	*) set -- --type="$RECOVERY_TYPE" --target="$RECOVERY_TARGET" --target-action=promote ;;
	esac
	if [ "${RECOVERY_EXCLUSIVE:-false}" = true ]; then
		set -- "$@" --target-exclusive
	fi
	if ! out=$(sh "$PGBR" restore-backup "$@" 2>&1); then
		printf '%s\n' "$out"
		fail_recovery "restore-failed: $(printf '%s\n' "$out" | grep ERROR | tail -n 1)"
	fi
	printf '%s\n' "$out"
	prepare_recovery_conf
	replay_to_target
	rm -f "$RESTORING"
}

# prepare_recovery_conf keeps the engine's recovery target, takes the spec's
# parameters, and points restore_command at the source through pgbr.sh (the
# engine's own line would read the server's environment, which names this
# cluster's repository). The source's synchronous_standby_names is dropped:
# its standbys are not ours.
prepare_recovery_conf() {
	conf=$PGDATA/postgresql.auto.conf
	grep '^recovery_target' "$conf" >"$RUN_DIR/recovery.conf" 2>/dev/null || true
	sed -i '/^synchronous_standby_names = /d' "$conf"
	apply_spec_parameters
	{
		cat "$RUN_DIR/recovery.conf"
		printf "restore_command = '%s restore %%f \"%%p\"'\n" "$PGBR"
	} >>"$conf"
}

# replay_to_target runs the server until it has promoted at the target.
# hot_standby is off: a standby's parameter checks against the source's
# settings would stop the replay for nothing, and no client may read a
# half-recovered database anyway. The roles then get this cluster's
# passwords, over the socket (peer), before anyone can connect by TCP.
# The server's log is followed live, so that `kubectl logs` shows the
# replay's progress (each WAL file restored) while it runs; the loop asks
# the server only once postmaster.pid says it is ready, so that refused
# connections do not fill that log.
replay_to_target() {
	log "replaying WAL to the target"
	recovery_log=/tmp/recovery.log
	set --
	if archiving; then set -- -c archive_mode=on -c "archive_command=$PGBR archive %p"; fi
	: >"$recovery_log"
	tail -n +1 -f "$recovery_log" &
	follower=$!
	postgres -D "$PGDATA" -c listen_addresses='' -c port=5432 \
		-c hba_file="$HBA" -c unix_socket_directories="$RUN_DIR" \
		-c cluster_name="$POD_NAME" -c wal_level=replica -c wal_log_hints=on \
		-c hot_standby=off "$@" >>"$recovery_log" 2>&1 &
	pid=$!
	until server_ready && [ "$(psql -h "$RUN_DIR" -U postgres -d postgres -XAtqc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
		if ! kill -0 $pid 2>/dev/null; then
			sleep 1.2 # the follower reads once a second: let it print the last lines
			kill $follower
			fail_recovery "recovery-failed: $(recovery_failure "$recovery_log")"
		fi
		sleep 0.2
	done
	set_role_passwords
	sed -i '/^recovery_target/d; /^restore_command = /d' "$PGDATA/postgresql.auto.conf"
	kill -INT $pid
	wait $pid || true
	sleep 1.2 # as above
	kill $follower
	log "recovered to the target and promoted"
}

# server_ready says whether the postmaster accepts connections: the eighth
# line of postmaster.pid reads "ready" from then on ("starting" while a
# server with hot_standby off replays).
server_ready() {
	[ "$(sed -n 8p "$PGDATA/postmaster.pid" 2>/dev/null | tr -d ' ')" = ready ]
}

# recovery_failure prints the server's first FATAL or PANIC that is not
# about a client: the polling above is refused with "the database system
# is starting up" or "is not accepting connections" while it replays and
# stops, and those lines would bury the reason.
recovery_failure() {
	grep -E 'FATAL|PANIC' "$1" | grep -v 'the database system is' | head -n 1 |
		sed 's/^.*\(FATAL\|PANIC\): *//'
}

# set_role_passwords gives the restored roles the passwords of this
# cluster's record. The statement is not logged.
set_role_passwords() {
	{
		echo "SET log_statement = 'none';"
		printf "\\set pw \`cat /etc/postgres-secrets/superuser/password\`\n"
		echo "ALTER ROLE postgres PASSWORD :'pw';"
		printf "\\set pw \`cat /etc/postgres-secrets/replication/password\`\n"
		printf "SELECT format('ALTER ROLE %%I PASSWORD %%L', '%s', :'pw') WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s') \\gexec\n" "$REPLICATION_USER" "$REPLICATION_USER"
	} | psql -h "$RUN_DIR" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 >/dev/null
}

fail_recovery() {
	log "$1"
	printf '%s\n' "$1" | cut -c1-1000 >"${TERMINATION_LOG:-/dev/termination-log}" 2>/dev/null || true
	exit 4
}

# archiving says whether backups are on: the members then archive WAL
# through pgbr.sh (the caller adds the settings, which hold spaces).
archiving() { [ -n "${PGBACKREST_REPO1_TYPE:-}" ]; }

# write_pgbr writes the engine's hooks (PGBR_SCRIPT) where PostgreSQL can
# run them, when backups are on or the seed restores.
write_pgbr() {
	[ -n "${PGBR_SCRIPT:-}" ] || return 0
	printf '%s\n' "$PGBR_SCRIPT" >"$PGBR"
	chmod 0700 "$PGBR"
	if archiving; then
		mkdir -p "$PGBACKREST_SPOOL_PATH" "$ARCHIVE_STATUS_DIR"
	fi
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

# on_primary runs one SQL command on the primary as the superuser and
# prints its answer unaligned.
on_primary() {
	psql -h "$PRIMARY_HOST" -p 5432 -U postgres -d postgres -Atqc "$1"
}

# rewind brings a former primary back in line with the new primary. When
# rewind fails, or cannot work (timeline_taken), the data directory is
# moved aside and the member re-clones.
rewind() {
	log "rewinding against $PRIMARY_HOST"
	# A just-promoted primary records its new timeline in pg_control only at
	# its next checkpoint; without one pg_rewind would see "the same
	# timeline" and skip a rewind that is needed.
	until on_primary CHECKPOINT >/dev/null; do
		log "waiting for the primary to checkpoint"
		sleep 1
	done
	if timeline_taken; then
		why="this volume ran as a primary on timeline $mine and the primary runs on timeline $theirs:"
		why="$why both were promoted to it separately, and pg_rewind cannot see WAL that differs under one number"
	elif pg_rewind -D "$PGDATA" --source-server="host=$PRIMARY_HOST port=5432 user=postgres dbname=postgres" 2>&1; then
		return
	else
		why="pg_rewind failed"
	fi
	if other_database; then
		# Not ours to wipe: start it as a standby on its data, untouched. It
		# never streams; the operator reads its system identifier, reports
		# the volume (SystemIdentifierMismatch) and never deletes it.
		log "this volume holds another database than the primary's: not re-cloning over it"
		return
	fi
	log "$why: re-cloning"
	rm -rf "$PGDATA.failed"
	mv "$PGDATA" "$PGDATA.failed"
	clone
	rm -rf "$PGDATA.failed"
}

# timeline_taken reports whether this volume, last a primary, holds WAL
# on the primary's timeline or a later one. A promotion numbers its new
# timeline one past the newest its server knows of, so two members
# promoted from the same timeline without seeing each other's history (an
# operator that promoted one and died before recording it, the next one
# promoting another) take the same number. pg_rewind then sees "the same
# timeline", rewinds nothing, and this member would replay its own WAL as
# if it were the primary's. A volume that was a primary on timeline T
# holds no WAL of a later timeline it did not write, so the check is by
# numbers: the timeline in pg_control and those of its WAL segments (a
# just-promoted server writes a segment on its new timeline before its
# first checkpoint records it in pg_control).
timeline_taken() {
	mine=$(LC_ALL=C pg_controldata "$PGDATA" 2>/dev/null | sed -n "s/^Latest checkpoint's TimeLineID: *//p")
	newest=$(ls "$PGDATA/pg_wal" 2>/dev/null | grep -E '^[0-9A-F]{24}$' | cut -c1-8 | sort | tail -n 1)
	if [ -n "$newest" ] && [ "$((0x$newest))" -gt "${mine:-0}" ]; then
		mine=$((0x$newest))
	fi
	theirs=$(on_primary "SELECT timeline_id FROM pg_control_checkpoint()" 2>/dev/null) || return 1
	[ -n "$mine" ] && [ -n "$theirs" ] && [ "$mine" -ge "$theirs" ]
}

# other_database reports whether the data directory comes from another
# initdb than the primary's: their system identifiers differ.
other_database() {
	mine=$(LC_ALL=C pg_controldata "$PGDATA" 2>/dev/null | sed -n 's/^Database system identifier: *//p')
	theirs=$(on_primary "SELECT system_identifier FROM pg_control_system()" 2>/dev/null) || return 1
	[ -n "$mine" ] && [ -n "$theirs" ] && [ "$mine" != "$theirs" ]
}

# check_major refuses to start when the image's PostgreSQL is another major
# version than the cluster's (spec.postgresVersion, in POSTGRES_MAJOR) or
# than the data directory's: the server would refuse the data, or a new
# member would be initialised with the wrong version. The reason goes to the
# termination message, which the operator reports (safety_image.go).
check_major() {
	bin=$(postgres --version | sed -n 's/^postgres (PostgreSQL) \([0-9]*\).*/\1/p')
	[ -n "$bin" ] || return 0 # an unusual version string: let postgres judge
	want=${POSTGRES_MAJOR:-$bin}
	have=$want
	if [ -s "$PGDATA/PG_VERSION" ]; then
		have=$(cat "$PGDATA/PG_VERSION")
	fi
	if [ "$bin" != "$want" ] || [ "$bin" != "$have" ]; then
		msg="image-major-mismatch: the image runs PostgreSQL $bin, the cluster is PostgreSQL $want and its data directory $have"
		log "$msg"
		printf '%s\n' "$msg" >"${TERMINATION_LOG:-/dev/termination-log}" 2>/dev/null || true
		exit 3
	fi
}

# set_primary_conninfo records where this member streams from in
# postgresql.auto.conf, not on the command line, where nothing could change
# it while the server runs: right after a promotion the operator points the
# running standbys straight at the new primary's address with ALTER SYSTEM
# (repoint.go). At every start it is the -rw Service again. The value comes
# from the operator (PRIMARY_CONNINFO) and holds no quote.
set_primary_conninfo() {
	conf=$PGDATA/postgresql.auto.conf
	{
		grep -v '^primary_conninfo = ' "$conf" 2>/dev/null || true
		printf "primary_conninfo = '%s'\n" "$PRIMARY_CONNINFO"
	} >"$conf.new"
	mv "$conf.new" "$conf"
}

# A killed postmaster leaves its lock files on the volume: postmaster.pid
# and the lock of the volume's socket directory. PostgreSQL takes a lock
# whose PID is alive for a running server's, but a new container's PIDs
# start afresh, so by now the old postmaster's PID can be any process here
# (an exec probe's psql), and the start fails with "lock file ... already
# exists". This member's only server is the one this script starts, so a
# lock whose PID is not a postgres process here is stale.
clear_stale_locks() {
	for lock in "$PGDATA/postmaster.pid" "$VOLUME_SOCKET_DIR"/.s.PGSQL.*.lock; do
		[ -f "$lock" ] || continue
		pid=$(head -n 1 "$lock" | tr -d ' ')
		if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then
			continue
		fi
		log "removing the stale lock file $lock (PID $pid is no postgres process here)"
		rm -f "$lock"
	done
}

# raise_to_primary_settings raises, on a standby, each setting it checks
# against its primary (postgres.StandbyCheckedSettings; a test ties the
# lists) to the value the primary last ran with, which pg_control holds
# from its WAL: below it the server refuses to start ("insufficient
# parameter settings") and the member would stay down for good. The
# operator lowers such a setting on the primary first, but a replica
# cloned or restarted before it replayed the primary's new value (or while
# a lowered spec waits for the roll) needs the old one. The raised value
# goes into postgresql.auto.conf, where the operator's ALTER SYSTEM puts
# the spec's back: the member then waits for a restart, which the roll
# gives it once its primary runs lower.
raise_to_primary_settings() {
	control=$(LC_ALL=C pg_controldata "$PGDATA" 2>/dev/null) || return 0
	for pair in max_connections:max_connections max_worker_processes:max_worker_processes \
		max_wal_senders:max_wal_senders max_prepared_transactions:max_prepared_xacts \
		max_locks_per_transaction:max_locks_per_xact; do
		name=${pair%%:*}
		need=$(printf '%s\n' "$control" | sed -n "s/^${pair#*:} setting: *//p")
		have=$(postgres -D "$PGDATA" -C "$name" 2>/dev/null) || continue
		case "$need,$have" in *[!0-9,]* | ,* | *,) continue ;; esac
		[ "$have" -lt "$need" ] || continue
		log "$name $have is below $need, the primary's last value: starting with $need"
		conf=$PGDATA/postgresql.auto.conf
		{
			grep -v "^$name = " "$conf" 2>/dev/null || true
			printf "%s = '%s'\n" "$name" "$need"
		} >"$conf.new"
		mv "$conf.new" "$conf"
	done
}

prepare_data() {
	if [ ! -s "$PGDATA/PG_VERSION" ] || [ -f "$RESTORING" ]; then
		case "$BOOTSTRAP" in
		initdb) init_seed ;;
		recovery) restore_seed ;;
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
if ! write_passfile; then
	log "no passwords mounted under /etc/postgres-secrets"
	exit 1
fi
keep_passfile_current &
if tls_on; then use_tls; fi
write_hba
write_pgbr
mkdir -p "$VOLUME_SOCKET_DIR"
check_major
clear_stale_locks
prepare_data

apply_spec_parameters
set_primary_conninfo
if [ "$(role)" != primary ]; then raise_to_primary_settings; fi

log "starting postgres as $(role)"
set --
if archiving; then set -- -c archive_mode=on -c "archive_command=$PGBR archive %p"; fi
if tls_on; then
	set -- "$@" -c ssl=on -c "ssl_cert_file=$TLS_DIR/server.crt" -c "ssl_key_file=$TLS_DIR/server.key" \
		-c "ssl_ca_file=$TLS_DIR/client-ca.crt"
fi
# The second socket directory, on the volume, is for backup Jobs on this node.
postgres -D "$PGDATA" "$@" \
	-c listen_addresses='*' -c port=5432 \
	-c hba_file="$HBA" -c unix_socket_directories="$RUN_DIR,$VOLUME_SOCKET_DIR" \
	-c cluster_name="$POD_NAME" \
	-c wal_level=replica -c wal_log_hints=on -c hot_standby=on \
	-c password_encryption=scram-sha-256 \
	-c primary_slot_name="$SLOT_NAME" \
	-c recovery_target_timeline=latest &
PID=$!
STEP="running postgres, whose own log says why it stopped"
keep_tls_current $PID &
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
