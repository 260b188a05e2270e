#!/usr/bin/env bash
# Installs the operator into the local cluster through its plain YAML
# (hack/local-overlay: the base manifests with the local PostgreSQL image
# template), then waits until the Deployment is Ready and a live pod holds
# the leader Lease. Expects `make image` to have built the operator image.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KUBECONFIG=$("$ROOT/hack/local-cluster.sh" kubeconfig)
KUBECTL="$ROOT/.local-cluster/bin/kubectl --kubeconfig $KUBECONFIG"
IMAGE_TAR=$ROOT/.local-cluster/images/postgres-operator.tar
T0=$SECONDS
say() { echo "[deploy $((SECONDS - T0))s] $*"; }

[ -f "$IMAGE_TAR" ] || { echo "missing $IMAGE_TAR: run 'make image' first" >&2; exit 1; }
"$ROOT/hack/local-cluster.sh" load-image "$IMAGE_TAR" >/dev/null
say "operator image loaded"

# The CRD must be established before anything that uses it.
# Polled, not `kubectl wait`: on a CRD so new that it has no conditions
# yet, kubectl wait fails ("accessor error") instead of waiting.
$KUBECTL apply -f "$ROOT/manifests/crd/" >/dev/null
established() {
	$KUBECTL get crd "$1" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null
}
for crd in postgresclusters.postgres-operator.dev postgresbackups.postgres-operator.dev; do
	for i in $(seq 1 300); do
		[ "$(established "$crd")" = True ] && break
		[ "$i" = 300 ] && { echo "CRD $crd never became Established" >&2; exit 1; }
		sleep 0.2
	done
done
existed=$($KUBECTL -n postgres-operator get deployment postgres-operator -o name 2>/dev/null || true)
# With extra nodes (make local-up NODES=3), keep the operator beside the API
# server on the first node: the node faults (cut, stop) and the sim nodes
# are for the members; an operator cut off with them would measure its own
# fate (a lost Lease, a restart) instead of theirs.
overlay=$ROOT/hack/local-overlay
if [ "$($KUBECTL get nodes -o name | wc -l)" -gt 1 ]; then
	overlay=$ROOT/hack/local-overlay-nodes
fi
$KUBECTL apply -k "$overlay" >/dev/null
if [ -n "$existed" ]; then
	# A rebuilt image keeps its tag: restart so the new one runs.
	$KUBECTL -n postgres-operator rollout restart deployment/postgres-operator >/dev/null
fi
$KUBECTL -n postgres-operator rollout status deployment/postgres-operator --timeout=120s >/dev/null
say "deployment ready"

# Ready means up, not leading (two replicas, one leads): wait until the
# Lease names a pod that runs and is not on its way out, as an old pod of
# a rolling update is.
for _ in $(seq 1 300); do
	holder=$($KUBECTL -n postgres-operator get lease postgres-operator -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)
	if [ -n "$holder" ] &&
		[ "$($KUBECTL -n postgres-operator get pod "$holder" -o jsonpath='{.status.phase}/{.metadata.deletionTimestamp}' 2>/dev/null)" = Running/ ]; then
		say "lease held by $holder"
		exit 0
	fi
	sleep 0.2
done
echo "the operator never took the leader Lease; logs:" >&2
$KUBECTL -n postgres-operator logs -l app.kubernetes.io/name=postgres-operator --prefix --tail=50 >&2 || true
exit 1
