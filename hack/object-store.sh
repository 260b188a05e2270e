#!/usr/bin/env bash
# An S3-compatible object store (versitygw, POSIX backend) in the local
# cluster, for pgBackRest backups. See hack/LOCAL-CLUSTER.md.
#
#   hack/object-store.sh up                 build, deploy, create the bucket, prove it with pgBackRest (idempotent)
#   hack/object-store.sh down               delete its namespace and volume
#   hack/object-store.sh stop | start       scale the gateway to 0 / back to 1, and wait
#   hack/object-store.sh env [--pgbackrest] shell exports for a client on the host
#   hack/object-store.sh secrets NAMESPACE  create/update Secrets s3-creds and s3-ca there
set -Eeuo pipefail

LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)
# shellcheck source=SCRIPTDIR/lib/cluster-env.sh
source "$LIB/cluster-env.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-deps.sh
source "$LIB/cluster-deps.sh"
# shellcheck source=SCRIPTDIR/lib/cluster-build.sh
source "$LIB/cluster-build.sh"
# shellcheck source=SCRIPTDIR/lib/object-store.sh
source "$LIB/object-store.sh"

usage() {
	sed -n '5,9s/^#   //p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

# One command at a time: a stop racing an up would leave either half done.
# A lock of its own: load-image inside `up` takes the cluster's.
lock() {
	mkdir -p "$LC_DIR" "$LC_LOG"
	exec 8>"$LC_DIR/.object-store.lock"
	flock -w 300 8 || die "another hack/object-store.sh command is still running"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
up) lock && os_up ;;
down) lock && os_down ;;
stop) lock && os_stop ;;
start) lock && os_start ;;
env) os_env "$@" ;;
secrets)
	[ $# -eq 1 ] || usage
	lock && os_require_cluster && os_client_secrets "$1" && say "Secrets s3-creds and s3-ca applied in namespace $1"
	;;
*) usage ;;
esac
