#!/usr/bin/env bash
# A real Kubernetes cluster on this machine (one node, or more with
# LOCAL_CLUSTER_NODES=N), built from Go modules and Debian packages: no
# Docker, no registry, no traffic beyond this host. See hack/LOCAL-CLUSTER.md.
#
#   hack/local-cluster.sh up                  build what is missing, start, wait until pods can run
#   hack/local-cluster.sh down                stop everything, keep state (etcd, images, volumes)
#   hack/local-cluster.sh purge [--all]       down + delete state (--all: also binaries and images)
#   hack/local-cluster.sh status              components and node readiness
#   hack/local-cluster.sh kubeconfig          path of the admin kubeconfig
#   hack/local-cluster.sh load-image FILE...  import docker/OCI archives into the nodes
#   hack/local-cluster.sh node cut|heal|stop|start NODE   faults of an extra node
set -Eeuo pipefail

LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)
# shellcheck source=SCRIPTDIR/lib/cluster-env.sh
source "$LIB/cluster-env.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-deps.sh
source "$LIB/cluster-deps.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-build.sh
source "$LIB/cluster-build.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-certs.sh
source "$LIB/cluster-certs.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-config.sh
source "$LIB/cluster-config.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-net.sh
source "$LIB/cluster-net.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-proc.sh
source "$LIB/cluster-proc.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-components.sh
source "$LIB/cluster-components.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-addons.sh
source "$LIB/cluster-addons.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-up.sh
source "$LIB/cluster-up.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-down.sh
source "$LIB/cluster-down.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-status.sh
source "$LIB/cluster-status.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-nodes.sh
source "$LIB/cluster-nodes.sh"
# shellcheck source=SCRIPTDIR/lib/sim.sh
source "$LIB/sim.sh"

usage() {
	sed -n '6,12s/^#   //p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

# One command at a time per checkout: up and down racing would leave a mess.
lock() {
	mkdir -p "$LC_DIR"
	exec 9>"$LC_DIR/.lock"
	flock -n 9 || die "another hack/local-cluster.sh command is running on $LC_DIR"
}

# report_failures makes an unexpected failure name its place instead of
# ending the script silently: the ERR trap remembers the last command that
# failed (handled failures, in conditions or command substitutions, never
# end the script), and the EXIT trap prints it if the script fails.
report_failures() {
	LAST_FAILED=
	trap 'LAST_FAILED="${BASH_SOURCE[0]##*/}:${LINENO}: ${BASH_COMMAND}"' ERR
	trap 'rc=$?; [ $rc -eq 0 ] || [ -z "$LAST_FAILED" ] || echo "local-cluster.sh: failed (exit $rc) at $LAST_FAILED" >&2' EXIT
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
up) report_failures && lock && cluster_up ;;
down) report_failures && lock && cluster_down ;;
purge) report_failures && lock && cluster_purge "$@" ;;
status) cluster_status ;;
kubeconfig) cluster_kubeconfig ;;
load-image) report_failures && lock && cluster_load_image "$@" ;;
node) report_failures && lock && cluster_node "$@" ;;
*) usage ;;
esac
