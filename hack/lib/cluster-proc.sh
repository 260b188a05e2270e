# shellcheck shell=bash
# Processes are tracked by PID files only. A PID file counts only while its
# process still runs the binary we started, so a recycled PID is never signalled.

pidfile() { echo "$LC_RUN/$1.pid"; }

# proc_pid NAME: print the PID if the component runs, else fail.
proc_pid() {
	local f pid bin exe
	f=$(pidfile "$1")
	[ -f "$f" ] || return 1
	read -r pid bin <"$f" || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[ "${exe% (deleted)}" = "$bin" ] || return 1 # rebuilt binaries show as deleted
	echo "$pid"
}

# PROC_WRAP: a command start_proc runs the binary through (empty for the
# first node; an extra node's components enter its cgroup and namespaces).
# It must end in exec, so that the PID stays the binary's.
PROC_WRAP=()

# start_proc NAME BINARY ARGS...: run detached (own session, so a Ctrl-C in the
# terminal that ran `up` does not reach it), output to log/NAME.log.
start_proc() {
	local name=$1 bin=$2 f
	shift 2
	f=$(pidfile "$name")
	if proc_pid "$name" >/dev/null; then
		return 0
	fi
	[ -x "$bin" ] || die "$bin is missing"
	[ -f "$LC_LOG/$name.log" ] && mv -f "$LC_LOG/$name.log" "$LC_LOG/$name.log.prev"
	# The shell records its own PID, then becomes the program: that PID is the program's.
	# shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
	setsid /bin/sh -c 'echo "$$ $1" >"$0"; shift; exec "$@"' "$f" "$bin" "${PROC_WRAP[@]}" "$bin" "$@" \
		>"$LC_LOG/$name.log" 2>&1 </dev/null 9>&- & # 9: the command lock, not for daemons to hold
	local i
	for ((i = 0; i < 150; i++)); do
		proc_pid "$name" >/dev/null && return 0
		sleep 0.02
	done
	die "$name did not start, see $LC_LOG/$name.log"
}

# alive PID: the process exists and is not a zombie waiting for its parent.
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# stop_proc NAME [SECONDS]: SIGTERM, then SIGKILL after the grace period.
stop_proc() {
	local name=$1 grace=${2:-15} pid i
	if pid=$(proc_pid "$name"); then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < grace * 20; i++)); do
			alive "$pid" || break
			sleep 0.05
		done
		if alive "$pid"; then
			say "$name did not stop within ${grace}s, killing it"
			kill -KILL "$pid" 2>/dev/null || true
			while alive "$pid"; do sleep 0.05; done
		fi
	fi
	rm -f "$(pidfile "$name")"
}
