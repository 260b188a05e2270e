#!/usr/bin/env bash
# Runs the multi-node end-to-end suite (test/e2enodes): brings the local
# cluster up with three nodes (building what is missing), deploys the
# operator with `make deploy`, runs the suite, and takes the cluster down
# again unless KEEP_CLUSTER=1.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if [ "${KEEP_CLUSTER:-0}" != 1 ]; then
	trap 'hack/local-cluster.sh down' EXIT
	# Start from an empty API: `down` keeps etcd, so after the one-node
	# suite the kubelet would first start that run's unpinned operator
	# pods, and deploy's pinned template then deletes them at once; one
	# such pod stayed Terminating on a healthy node (its sandbox's network
	# namespace could not be removed) and failed TestOperatorDown.
	hack/local-cluster.sh purge
fi
export LOCAL_CLUSTER_NODES=3 # local-node (control plane, operator), local-node-2 and -3 (cut, stopped, drained)
hack/local-cluster.sh up
make --no-print-directory deploy
export E2E_KUBECONFIG=$(hack/local-cluster.sh kubeconfig)
export E2E_KUBECTL=$ROOT/.local-cluster/bin/kubectl
go test -tags e2e,e2enodes -count=1 -timeout "${E2E_TIMEOUT:-40m}" -v ${E2E_RUN:+-run "$E2E_RUN"} ./test/e2enodes/... 2>&1 |
	grep --line-buffered -vE '^=== (RUN|PAUSE|CONT)' # keep the log readable; results and failures stay
exit "${PIPESTATUS[0]}"
