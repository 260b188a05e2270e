#!/usr/bin/env bash
# The README's first command: from a fresh machine to a Ready PostgresCluster
# on the built-in local cluster, through the operator's plain YAML.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
T0=$SECONDS
hack/local-cluster.sh up
make --no-print-directory deploy
KUBECONFIG=$(hack/local-cluster.sh kubeconfig)
KUBECTL=".local-cluster/bin/kubectl --kubeconfig $KUBECONFIG"

T1=$SECONDS
$KUBECTL apply -f manifests/examples/minimal.yaml
# Polled, not `kubectl wait --for=condition`: that fails ("accessor error")
# on an object whose status has no conditions yet, as a new cluster's.
for i in $(seq 1 900); do
	[ "$($KUBECTL get pgc demo -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] && break
	[ "$i" = 900 ] && { echo "PostgresCluster demo not Ready after 180 s" >&2; $KUBECTL describe pgc demo >&2; exit 1; }
	sleep 0.2
done
# Ready comes first; the phase settles on Running once post-bootstrap
# housekeeping (parameters, replication) has run.
$KUBECTL wait pgc/demo --for=jsonpath='{.status.phase}'=Running --timeout=60s >/dev/null
echo "[demo] PostgresCluster demo Ready $((SECONDS - T1))s after apply ($((SECONDS - T0))s in all)"
$KUBECTL get pgc demo
IP=$($KUBECTL get pod demo-1 -o jsonpath='{.status.podIP}')

cat <<INFO

Connect with psql from this machine, over TLS, as the application (the password stays in its Secret):
  export KUBECONFIG=$KUBECONFIG PATH=$ROOT/.local-cluster/bin:\$PATH
  PGPASSWORD=\$(kubectl get secret demo-app -o jsonpath='{.data.password}' | base64 -d) \\
    psql "host=$IP user=app dbname=app sslmode=require" -c 'select version()'
As the superuser (no TCP login with its password alone unless spec.superuserAccess):
  kubectl exec demo-1 -- psql -h /var/run/postgresql -U postgres -c 'select version()'
  make install-plugin && kubectl pgc psql demo

Watch the operator:      kubectl -n postgres-operator logs -f -l app.kubernetes.io/name=postgres-operator --prefix
Watch the cluster:       kubectl get pgc demo -w      (kubectl describe pgc demo for conditions and events)
Scale it:                kubectl scale pgc/demo --replicas=3
Tear down:               make local-down     (make undeploy removes only the operator)
INFO
