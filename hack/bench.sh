#!/usr/bin/env bash
# Benchmarks that print figures (make bench): brings the local cluster up if
# it is not (idempotent), deploys the operator with `make deploy`, builds
# test/bench and runs it. Everything after the script's name, or
# BENCH_ARGS, goes to the benchmark program, e.g.
#   make bench BENCH_ARGS='--only lifecycle,failover --runs 20'
#   hack/bench.sh --only failover --runs 3 --modes sync
# BENCH_DEPLOY=0 skips `make deploy` (it restarts the operator for everyone
# using the cluster; skip it when the deployed operator is current).
# Run as root: the benchmark reads the node's /proc and cgroups, drives its
# containerd and runs the host floors as the postgres user.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
T0=$SECONDS
say() { echo "[bench $((SECONDS - T0))s] $*"; }

if [ "$(id -u)" != 0 ]; then
	echo "hack/bench.sh must run as root (the node's containerd, /proc, cgroups; the host floors run as postgres)" >&2
	exit 1
fi
# The cluster is shared: another engineer's local-cluster.sh command (it
# holds a lock) makes ours fail at once, so busy commands are retried.
retry() {
	local i
	for i in $(seq 1 30); do
		"$@" && return 0
		say "'$*' failed (attempt $i); retrying in 10 s"
		sleep 10
	done
	return 1
}
retry hack/local-cluster.sh up
say "local cluster up"
if [ "${BENCH_DEPLOY:-1}" != 0 ]; then
	retry make --no-print-directory deploy
	say "operator deployed"
fi
mkdir -p .local-cluster/bin
go build -o .local-cluster/bin/bench ./test/bench
say "benchmark built; running it"
# The bench exits 3 on a safety violation (two primaries, a lost sync
# commit...), 1 when a scenario could not run; missed goals only print.
rc=0
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
BENCH_ROOT=$ROOT .local-cluster/bin/bench ${BENCH_ARGS:-} "$@" || rc=$?
say "done (exit $rc)"
exit "$rc"
