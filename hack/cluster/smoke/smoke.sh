#!/usr/bin/env bash
# Smoke test of a running local cluster (hack/local-cluster.sh up):
#  1. node Ready; CoreDNS resolves kubernetes.default.svc.cluster.local for a pod;
#  2. a default-class claim is provisioned and bound for a postgres pod (uid 999)
#     that runs initdb and postgres; psql from the host reaches the pod's IP;
#  3. deleting the claim deletes its directory on the host.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
KUBECTL=$REPO/.local-cluster/bin/kubectl
export KUBECONFIG=${KUBECONFIG:-$("$REPO/hack/local-cluster.sh" kubeconfig)}
NS=local-cluster-smoke
k() { "$KUBECTL" -n $NS "$@"; }

T0=${EPOCHREALTIME/[.,]/}
say() {
	local d=$((${EPOCHREALTIME/[.,]/} - T0))
	printf '[%4d.%ds] %s\n' $((d / 1000000)) $((d / 100000 % 10)) "$*"
}

"$KUBECTL" get nodes -o wide
"$KUBECTL" create namespace $NS --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
trap 'k get pods,pvc -o wide; k describe pod smoke-pg | tail -20' ERR

k apply -f "$HERE/dns.yaml" >/dev/null
k wait --for=jsonpath='{.status.phase}'=Succeeded pod/smoke-dns --timeout=60s >/dev/null
say "DNS from a pod:"
k logs smoke-dns

k apply -f "$HERE/postgres.yaml" >/dev/null
k wait --for=condition=Ready pod/smoke-pg --timeout=120s >/dev/null
say "postgres pod Ready"
k get pvc smoke-data
PV=$(k get pvc smoke-data -o jsonpath='{.spec.volumeName}')
DIR=$("$KUBECTL" get pv "$PV" -o jsonpath='{.spec.local.path}')
IP=$(k get pod smoke-pg -o jsonpath='{.status.podIP}')
say "pod user: $(k exec smoke-pg -- id)"
PGPASSWORD=smoke-secret PGCONNECT_TIMEOUT=5 psql -h "$IP" -U postgres -Atc \
	"create table smoke as select 1 as x; select 'psql from host to ' || inet_server_addr() || ': ' || version()"
say "volume $PV on host: $DIR"
stat -c "%A %u:%g %n" "$DIR" "$DIR/pgdata" "$DIR/pgdata/PG_VERSION"

k delete pod smoke-pg smoke-dns --wait=true >/dev/null
k delete pvc smoke-data --wait=true >/dev/null
for _ in $(seq 100); do
	"$KUBECTL" get pv "$PV" >/dev/null 2>&1 || break
	sleep 0.1
done
if [ -e "$DIR" ]; then
	say "FAIL: $DIR still exists after the claim was deleted"
	exit 1
fi
say "claim deleted: volume $PV and $DIR are gone"
"$KUBECTL" delete namespace $NS --wait=false >/dev/null
say "smoke test passed"
