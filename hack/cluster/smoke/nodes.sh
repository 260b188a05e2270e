#!/usr/bin/env bash
# Smoke test of a multi-node local cluster (as root, after
# `LOCAL_CLUSTER_NODES=3 hack/local-cluster.sh up`):
#  1. every node Ready;
#  2. a pod on each node (busybox httpd) reaches the pod on each other node,
#     each pod's Service by its DNS name, and the host reaches every pod;
#  3. a claim's volume is made on the node of its first pod (node affinity,
#     a directory in that node's folder), and a new pod of the claim lands there;
#  4. `node cut`: the node is unreachable from the host and the other nodes
#     (both ways) while its pod keeps answering inside its netns; the Node goes
#     NotReady; `node heal`: Ready and reachable again;
#  5. `node stop`: no process of the node is left; `node start`: Ready again,
#     its pods run again, the volume's data is still there.
# The faults hit the last node (NODE=local-node-2 picks another). Every wait
# polls with a bound; none sleeps a fixed time.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
LC=$REPO/hack/local-cluster.sh
LC_DIR=${LOCAL_CLUSTER_DIR:-$REPO/.local-cluster}
KUBECTL=$LC_DIR/bin/kubectl
export KUBECONFIG=${KUBECONFIG:-$("$LC" kubeconfig)}
NS=local-cluster-nodes-smoke
k() { "$KUBECTL" -n $NS "$@"; }

T0=${EPOCHREALTIME/[.,]/}
say() {
	local d=$((${EPOCHREALTIME/[.,]/} - T0))
	printf '[%4d.%ds] %s\n' $((d / 1000000)) $((d / 100000 % 10)) "$*"
}
fail() {
	say "FAIL: $*"
	exit 1
}
[ "$(id -u)" = 0 ] || fail "run as root (fault commands, ip netns exec)"

# poll DESC SECONDS CMD...: until CMD succeeds, at most SECONDS.
poll() {
	local desc=$1 secs=$2 end
	shift 2
	end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || fail "timed out after ${secs}s: $desc"
		sleep 0.5
	done
	say "$desc"
}

mapfile -t NODES < <("$KUBECTL" get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort -V)
((${#NODES[@]} >= 2)) || fail "want at least 2 nodes, have ${#NODES[@]} (LOCAL_CLUSTER_NODES=3 hack/local-cluster.sh up)"
FIRST=${NODES[0]}
VICTIM=${NODE:-${NODES[-1]}}
[ "$VICTIM" != "$FIRST" ] || fail "faults need an extra node, not $FIRST"
N=${VICTIM##*-}
VNS=lc-node$N
VIP=10.250.0.$N

# The network namespace a node's processes run in (the host's for the first).
in_node() {
	local node=$1
	shift
	if [ "$node" = "$FIRST" ]; then "$@"; else ip netns exec "lc-node${node##*-}" "$@"; fi
}
ready_is() { [ "$("$KUBECTL" get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = "$2" ]; }
pod_ip() { k get pod "$1" -o jsonpath='{.status.podIP}'; }
get() { curl -sf --max-time 2 "http://$1:8080/"; }
# pod_get POD HOST PORT: HTTP from a pod, with nc (the image's busybox 1.35
# wget crashes on a response); names resolved by nslookup, so that a failure
# says DNS, not HTTP.
# shellcheck disable=SC2016 # for the pod's shell
FETCH='h=$1 p=$2
case $h in *[a-z]*) h=$(nslookup "$h" | awk "/^Address/ && !/:53\$/ {a=\$2} END {print a}"); [ -n "$h" ] || exit 1 ;; esac
printf "GET / HTTP/1.0\r\n\r\n" | nc -w 2 "$h" "$p" | tail -1'
pod_get() { k exec "$1" -- sh -c "$FETCH" fetch "$2" "$3"; }
# restarted POD SINCE: Ready, its container started at SINCE or later (the
# status from before a stop says Ready too, until the Node is marked NotReady).
restarted() {
	local s
	s=$(k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].state.running.startedAt}')
	[ "${s%% *}" = True ] && [[ ! "${s#* }" < "$2" ]]
}
# unreachable: a request times out (or fails), it does not answer.
unreachable() { ! "$@" >/dev/null 2>&1; }

trap 'k get pods,pvc -o wide 2>/dev/null; "$KUBECTL" get nodes 2>/dev/null' ERR

"$KUBECTL" get nodes -o wide
for n in "${NODES[@]}"; do
	poll "node $n Ready" 60 ready_is "$n" True
done
"$KUBECTL" delete namespace $NS --ignore-not-found --wait=true >/dev/null
"$KUBECTL" create namespace $NS >/dev/null
say "namespace $NS made afresh; faults will hit $VICTIM"

# --- 2. pods on every node, across nodes, Services, DNS ---
web_manifest() { # NODE: a pod pinned to NODE serving its node's name, and its Service
	cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: web-$1, namespace: $NS, labels: {app: web-$1}}
spec:
  nodeSelector: {kubernetes.io/hostname: $1}
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 999, runAsGroup: 999, runAsNonRoot: true}
  containers:
  - name: web
    image: localhost/postgres:15
    imagePullPolicy: Never
    command: [sh, -c, 'mkdir -p /tmp/www && echo $1 >/tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www']
    readinessProbe: {httpGet: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web-$1, namespace: $NS}
spec:
  selector: {app: web-$1}
  ports: [{port: 80, targetPort: 8080}]
EOF
}
for n in "${NODES[@]}"; do web_manifest "$n"; echo ---; done | k apply -f - >/dev/null
k wait --for=condition=Ready pod --all --timeout=120s >/dev/null
k get pods -o wide
declare -A IP
for n in "${NODES[@]}"; do
	IP[$n]=$(pod_ip "web-$n")
	[ "$(get "${IP[$n]}")" = "$n" ] || fail "the host does not reach web-$n at ${IP[$n]}"
done
say "the host reaches the pod on each node"
for from in "${NODES[@]}"; do
	for to in "${NODES[@]}"; do
		got=$(pod_get "web-$from" "${IP[$to]}" 8080) || true
		[ "$got" = "$to" ] || fail "web-$from ($from) got '$got' from web-$to at ${IP[$to]}, want $to"
		got=$(pod_get "web-$from" "web-$to.$NS.svc.cluster.local" 80) || true
		[ "$got" = "$to" ] || fail "web-$from ($from) got '$got' from Service web-$to by name, want $to"
	done
done
say "each pod reaches the pod on every node, and every pod's Service by its DNS name"

# --- 3. node-local volumes ---
vol_manifest() { # NAME [NODE]: a pod of claim data, pinned to NODE if given
	local sel="nodeSelector: {}"
	[ -z "${2:-}" ] || sel="nodeSelector: {kubernetes.io/hostname: $2}"
	cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $NS}
spec:
  $sel
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 999, runAsGroup: 999, fsGroup: 999, fsGroupChangePolicy: OnRootMismatch, runAsNonRoot: true}
  containers:
  - name: c
    image: localhost/postgres:15
    imagePullPolicy: Never
    command: [sh, -c, 'test -s /data/hello || echo "written on \$NODE" >/data/hello; exec sleep 100000']
    env: [{name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
EOF
}
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: $NS}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
EOF
vol_manifest vol-1 "$VICTIM" | k apply -f - >/dev/null
k wait --for=condition=Ready pod/vol-1 --timeout=60s >/dev/null
PV=$(k get pvc data -o jsonpath='{.spec.volumeName}')
PIN=$("$KUBECTL" get pv "$PV" -o jsonpath='{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}')
DIR=$("$KUBECTL" get pv "$PV" -o jsonpath='{.spec.local.path}')
[ "$PIN" = "$VICTIM" ] || fail "volume $PV is pinned to '$PIN', want $VICTIM"
[[ $DIR == "$LC_DIR/var/$VICTIM/volumes/"* ]] || fail "volume $PV is at $DIR, not in $VICTIM's folder"
[ "$(cat "$DIR/hello")" = "written on $VICTIM" ] || fail "$DIR/hello: not what the pod wrote"
say "volume $PV: pinned to $PIN, directory $DIR, written by the pod"
k delete pod vol-1 --wait=true >/dev/null
vol_manifest vol-2 | k apply -f - >/dev/null # no node given: the volume decides
k wait --for=condition=Ready pod/vol-2 --timeout=60s >/dev/null
[ "$(k get pod vol-2 -o jsonpath='{.spec.nodeName}')" = "$VICTIM" ] || fail "vol-2 did not land on $VICTIM"
say "a new pod of the claim lands on $VICTIM, where its volume is"

# --- 4. cut and heal ---
"$LC" node cut "$VICTIM"
unreachable get "${IP[$VICTIM]}" || fail "the host still reaches web-$VICTIM"
unreachable curl -sk --max-time 2 "https://$VIP:10250/healthz" || fail "the host still reaches $VICTIM's kubelet"
for n in "${NODES[@]}"; do
	[ "$n" = "$VICTIM" ] && continue
	unreachable in_node "$n" curl -sf --max-time 2 "http://${IP[$VICTIM]}:8080/" || fail "$n still reaches web-$VICTIM"
	[ "$(pod_get "web-$n" "${IP[$VICTIM]}" 8080 2>/dev/null)" != "$VICTIM" ] || fail "web-$n still reaches web-$VICTIM"
	unreachable ip netns exec "$VNS" curl -sf --max-time 2 "http://${IP[$n]}:8080/" || fail "$VICTIM still reaches web-$n"
done
unreachable ip netns exec "$VNS" curl -sk --max-time 2 https://10.250.0.1:6443/healthz || fail "$VICTIM still reaches the API server"
[ "$(ip netns exec "$VNS" curl -sf --max-time 2 "http://${IP[$VICTIM]}:8080/")" = "$VICTIM" ] ||
	fail "web-$VICTIM does not answer inside $VNS"
say "$VICTIM cut off: unreachable from the host and the other nodes and their pods, reaches none of them; its pod answers inside $VNS"
poll "Node $VICTIM NotReady (the controller-manager's grace period)" 150 ready_is "$VICTIM" Unknown
[ "$(ip netns exec "$VNS" curl -sf --max-time 2 "http://${IP[$VICTIM]}:8080/")" = "$VICTIM" ] ||
	fail "web-$VICTIM stopped answering while cut off"
say "web-$VICTIM still answers inside $VNS"
"$LC" node heal "$VICTIM"
poll "Node $VICTIM Ready again after heal" 180 ready_is "$VICTIM" True
poll "the host reaches web-$VICTIM again" 30 get "${IP[$VICTIM]}"

# --- 5. stop and start ---
CG=/sys/fs/cgroup/freezer/$VICTIM
before=$(find "$CG" -name cgroup.procs -exec cat {} + | sort -n | tr '\n' ' ')
[ -n "${before// /}" ] || fail "no process in $CG before stop"
"$LC" node stop "$VICTIM"
left=
for p in $before; do
	st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
	st=${st##*) }
	[ "${st%% *}" = Z ] || left+=" $p" # a zombie is dead, waiting for init to reap it
done
[ -z "$left" ] || fail "processes of $VICTIM survived stop:$left"
if [ -d "$CG" ] && [ -n "$(find "$CG" -name cgroup.procs -exec cat {} +)" ]; then fail "$CG still has processes"; fi
[ -z "$(ip netns pids "$VNS")" ] || fail "processes left in $VNS: $(ip netns pids "$VNS")"
# ([/]: this grep's own command line does not match itself)
if grep -lsa "$LC_DIR/run/${VICTIM}[/]" /proc/[0-9]*/cmdline | grep -q .; then
	fail "a process still names $VICTIM's run folder"
fi
unreachable get "${IP[$VICTIM]}" || fail "web-$VICTIM still answers after stop"
say "$VICTIM stopped: none of its $(wc -w <<<"$before") processes is left (kubelet, containerd, shims, containers)"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
"$LC" node start "$VICTIM"
poll "web-$VICTIM running again (a new container, Ready)" 90 restarted "web-$VICTIM" "$started"
poll "vol-2 running again on $VICTIM" 90 restarted vol-2 "$started"
[ "$(k exec vol-2 -- cat /data/hello)" = "written on $VICTIM" ] || fail "the volume lost its data"
IP[$VICTIM]=$(pod_ip "web-$VICTIM")
poll "the host reaches web-$VICTIM at ${IP[$VICTIM]}" 30 get "${IP[$VICTIM]}"

k delete pod --all --wait=true >/dev/null
k delete pvc data --wait=true >/dev/null
poll "volume $PV and its directory deleted by $VICTIM's provisioner" 30 test ! -e "$DIR"
"$KUBECTL" delete namespace $NS --wait=false >/dev/null
say "multi-node smoke test passed"
