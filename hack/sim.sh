#!/usr/bin/env bash
# Simulated nodes, pods and PostgreSQL for the scale bench, on top of the
# running local cluster (see hack/lib/sim.sh for what is real and what is not).
#
#   hack/sim.sh up [NODES]   NODES simulated nodes (default 4), 250 pods each
#   hack/sim.sh down         remove them, their volumes, kwok and pgsim
#   hack/sim.sh status
set -Eeuo pipefail

LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)
for part in env build net proc nodes; do
	# shellcheck source=/dev/null
	source "$LIB/cluster-$part.sh"
done
# shellcheck source=SCRIPTDIR/lib/sim.sh
source "$LIB/sim.sh"

lock() {
	mkdir -p "$LC_DIR"
	exec 9>"$LC_DIR/.lock"
	flock -n 9 || die "a hack/local-cluster.sh command is running on $LC_DIR"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
up) lock && sim_up "$@" ;;
down) lock && sim_down ;;
status) sim_status ;;
*)
	sed -n '5,7s/^#   //p' "${BASH_SOURCE[0]}" >&2
	exit 2
	;;
esac
