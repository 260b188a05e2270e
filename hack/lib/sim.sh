# shellcheck shell=bash
# Simulated members for the scale bench (issue 12), added to a running local
# cluster. What is real: the API server, etcd, scheduler, controller-manager,
# the operator (unchanged, in its pod) and its informers, workqueue and
# actors. What is simulated:
#  - nodes and pods: kwok makes Node objects labelled $SIM_LABEL Ready and
#    their pods Running and Ready with an address of the node's pod range,
#    without any container (hack/sim/stages.yaml);
#  - PostgreSQL: pgsim (test/pgsim) answers the operator's queries as a
#    healthy size-1 primary, at every address of those ranges: it runs in
#    network namespace $SIM_NS, where the ranges are `local` routes on lo,
#    joined to the host by a veth ($SIM_NS), as an extra node is;
#  - volumes: one hostpath-provisioner per simulated node, directories under
#    $LC_VAR/sim, never written to.
# The simulated nodes carry a NoSchedule taint, so only pods that tolerate
# it (the bench's simulated clusters) land there.

SIM_NS=lc-sim
SIM_IP=${NODE_IP%.*}.250 # the namespace's address, as an extra node's
SIM_LABEL=postgres-operator.dev/sim
SIM_MOD=$REPO_ROOT/hack/sim
SIM_PODS_PER_NODE=200 # kwok hands out addresses of the node's /24 (stages.yaml says why not 250)

sim_node() { echo "sim-node-$1"; }

# sim_build: kwok from its own module (rebuilt when the module changes),
# pgsim from the operator's.
sim_build() {
	local stamp=$LC_BIN/.sim-stamp want
	want=$(inputs_digest "$SIM_MOD" kwok)
	if [ ! -x "$LC_BIN/kwok" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		say "building kwok (a few minutes from empty caches)"
		(cd "$SIM_MOD" && gobuild build -trimpath -ldflags "-s -w" -o "$LC_BIN/kwok" sigs.k8s.io/kwok/cmd/kwok) \
			>"$LC_LOG/sim-build.log" 2>&1 || die "kwok build failed, see $LC_LOG/sim-build.log"
		echo "$want" >"$stamp"
	fi
	(cd "$REPO_ROOT" && gobuild build -trimpath -o "$LC_BIN/pgsim" ./test/pgsim/cmd/pgsim) \
		>>"$LC_LOG/sim-build.log" 2>&1 || die "pgsim build failed, see $LC_LOG/sim-build.log"
}

# sim_net_up: the namespace, its veth and address; routes to the control
# plane and the real pods only (no default route); the guard admits it.
sim_net_up() {
	ip netns list | grep -qw "$SIM_NS" || ip netns add "$SIM_NS"
	ip link show "$SIM_NS" >/dev/null 2>&1 || ip link add "$SIM_NS" type veth peer name eth0 netns "$SIM_NS"
	echo 1 >"/proc/sys/net/ipv6/conf/$SIM_NS/disable_ipv6" 2>/dev/null || true
	ip link set "$SIM_NS" up
	ip -n "$SIM_NS" link set lo up
	ip -n "$SIM_NS" addr replace "$SIM_IP/32" dev eth0
	ip -n "$SIM_NS" link set eth0 up
	ip -n "$SIM_NS" route replace "$NODE_IP/32" dev eth0 scope link
	ip -n "$SIM_NS" route replace "$CLUSTER_CIDR" via "$NODE_IP" dev eth0 src "$SIM_IP"
	ip route replace "$SIM_IP/32" dev "$SIM_NS" scope link src "$NODE_IP"
	sim_guard_up
}

# sim_guard_up: the veth counts as a cluster interface, forwarding only to
# and from the nodes' pods (cni0 and the extra nodes' veths), where the
# operator runs. The rules go first in the guard's chains; a later
# `local-cluster.sh up` rebuilds those without them (then run
# `hack/sim.sh up` again).
sim_guard_up() {
	iptables -t mangle -C $GUARD_IN -i "$SIM_NS" -j RETURN 2>/dev/null ||
		iptables -t mangle -I $GUARD_IN 1 -i "$SIM_NS" -j RETURN
	local nodes dir n
	nodes=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -xE "$BRIDGE|${NODE_NS_PREFIX}[0-9]+")
	for n in $nodes; do
		for dir in "-i $SIM_NS -o $n" "-i $n -o $SIM_NS"; do
			# shellcheck disable=SC2086 # two options and their values
			iptables -t mangle -C $GUARD_FWD $dir -j RETURN 2>/dev/null || iptables -t mangle -I $GUARD_FWD 1 $dir -j RETURN
		done
	done
}

# sim_route NODE: the node's pod range into the namespace, local there.
sim_route() {
	local cidr
	cidr=$(kctl get node "$1" -o jsonpath='{.spec.podCIDR}')
	[ -n "$cidr" ] || return 1
	ip route replace "$cidr" via "$SIM_IP" dev "$SIM_NS" src "$NODE_IP"
	ip -n "$SIM_NS" route replace local "$cidr" dev lo
}

# sim_nodes_up N: Node objects sim-node-1..N, their pod ranges routed, and a
# provisioner for each.
sim_nodes_up() {
	local n i node
	n=$1
	for ((i = 1; i <= n; i++)); do
		node=$(sim_node "$i")
		kctl get node "$node" >/dev/null 2>&1 || sim_node_manifest "$node" | kctl apply -f - >/dev/null
		wait_for "$node has a pod range" 30 sim_route "$node"
		mkdir -p "$LC_VAR/sim/$node"
		start_proc "sim-provisioner-$i" "$LC_BIN/hostpath-provisioner" --kubeconfig="$LC_ETC/provisioner.kubeconfig" \
			--name="$PROVISIONER_NAME" --root="$LC_VAR/sim/$node" --node="$node" --unselected=false
	done
	for ((i = 1; i <= n; i++)); do
		wait_for "$(sim_node "$i") Ready" 60 sim_node_ready "$(sim_node "$i")"
	done
}

sim_node_manifest() {
	cat <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $1
  labels: {$SIM_LABEL: "true", kubernetes.io/hostname: $1, type: kwok}
  annotations: {node.alpha.kubernetes.io/ttl: "0"}
spec:
  taints: [{key: $SIM_LABEL, value: "true", effect: NoSchedule}]
YAML
}

sim_node_ready() {
	[ "$(kctl get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

# sim_nodes: the simulated nodes that exist, by index.
sim_nodes() {
	kctl get nodes -l "$SIM_LABEL" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' 2>/dev/null |
		sed -n 's/^sim-node-\([0-9]*\)$/\1/p' | sort -n
}

sim_up() {
	need_root
	local n=${1:-4}
	[[ $n =~ ^[1-9][0-9]*$ ]] && ((n <= 40)) || die "nodes: want 1 to 40 (each holds $SIM_PODS_PER_NODE pods), got $n"
	kctl get --raw /readyz >/dev/null 2>&1 || die "the local cluster is not up (hack/local-cluster.sh up)"
	sim_build
	sim_net_up
	(
		PROC_WRAP=(ip netns exec "$SIM_NS")
		start_proc pgsim "$LC_BIN/pgsim" --listen 0.0.0.0:5432 --kubeconfig "$ADMIN_KUBECONFIG" \
			--metrics-listen "$SIM_IP:9187"
	)
	start_proc kwok "$LC_BIN/kwok" --kubeconfig "$ADMIN_KUBECONFIG" \
		--manage-nodes-with-label-selector "$SIM_LABEL" --config "$SIM_MOD/stages.yaml" \
		--node-lease-duration-seconds 40
	sim_nodes_up "$n"
	say "simulated: $n nodes (${SIM_LABEL}=true, tainted), $((n * SIM_PODS_PER_NODE)) pod addresses answered by pgsim"
}

sim_down() {
	need_root
	local i
	for i in $(sim_nodes); do
		kctl delete node "$(sim_node "$i")" --wait=false >/dev/null 2>&1 || true
	done
	for i in $(seq 1 40); do
		stop_proc "sim-provisioner-$i" 5
	done
	stop_proc kwok 5
	stop_proc pgsim 5
	ip link del "$SIM_NS" 2>/dev/null || true # takes the routes through it along
	ip netns del "$SIM_NS" 2>/dev/null || true
	while iptables -t mangle -D $GUARD_IN -i "$SIM_NS" -j RETURN 2>/dev/null; do :; done
	local rule
	iptables -t mangle -S $GUARD_FWD 2>/dev/null | grep -E "(-i|-o) $SIM_NS " | sed 's/^-A //' | while read -r rule; do
		# shellcheck disable=SC2086 # the rule is a list of words
		iptables -t mangle -D $rule
	done
	rm -rf "$LC_VAR/sim"
	say "simulation removed"
}

# sim_running: any part of the simulation is up.
sim_running() {
	proc_pid pgsim >/dev/null || proc_pid kwok >/dev/null || ip netns list 2>/dev/null | grep -qw "$SIM_NS"
}

sim_status() {
	local c
	for c in pgsim kwok; do
		if proc_pid "$c" >/dev/null; then echo "$c: running"; else echo "$c: stopped"; fi
	done
	kctl get nodes -l "$SIM_LABEL" 2>/dev/null || true
}
