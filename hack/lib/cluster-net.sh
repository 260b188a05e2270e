# shellcheck shell=bash
# Host networking of the cluster, confined to this machine:
#  - the node address is a /32 on lo;
#  - cni0 is created up front with the pods' gateway address, and the service
#    range is routed into it, so pod and service addresses never follow the
#    default route out, even before the first pod or rule exists;
#  - the node address and the pod and service ranges have `unreachable`
#    routes that stay after `down` (until `purge`): a client of a stopped
#    cluster fails at once instead of sending to the default gateway;
#  - a mangle-table guard (ahead of anything kube-proxy adds) drops traffic
#    from other interfaces to the cluster's ranges, and any forwarding other
#    than within cni0, all of it if this host did not forward before `up`;
#    with extra nodes, their veths (lc-nodeN) count as cluster interfaces
#    too, and forwarding among cni0 and them is all that is allowed.
# `down` undoes all but the unreachable routes, and restores the sysctls changed.

GUARD_IN=LOCAL-CLUSTER-IN
GUARD_FWD=LOCAL-CLUSTER-FWD
HOST_SYSCTLS=(
	net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables
	# kubelet sets these five at start (protectKernelDefaults=false)
	vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes
)

sysctl_path() { echo "/proc/sys/${1//.//}"; }

net_preflight() {
	[ -e /proc/sys/net/bridge ] || modprobe br_netfilter 2>/dev/null ||
		die "the br_netfilter kernel module is missing (needed for Service traffic between pods)"
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		die "the overlay filesystem is missing (containerd's snapshotter needs it)"
	# Our ranges must not already be in use by this machine's networks.
	local r n
	for r in "$CLUSTER_CIDR" "$SVC_CIDR" "$NODE_IP/32"; do
		if ip -4 -o route show root "$r" table all | grep -vE "dev ($BRIDGE|lo|${NODE_NS_PREFIX}[0-9]+|lc-sim)|^unreachable" | grep -q .; then
			die "address range $r is already routed on this host: $(ip -4 -o route show root "$r" | head -1)"
		fi
	done
	for n in $(nodes_extra); do
		r=$(node_ip "$n")/32
		if ip -4 -o route show root "$r" table all | grep -vE "dev $NODE_NS_PREFIX$n |^unreachable" | grep -q .; then
			die "node address $r is already routed on this host: $(ip -4 -o route show root "$r" | head -1)"
		fi
	done
}

net_up() {
	# Save the host's values once; a second `up` must not save ours over them.
	if [ ! -f "$LC_RUN/host-sysctls" ]; then
		local k
		for k in "${HOST_SYSCTLS[@]}"; do
			echo "$k $(cat "$(sysctl_path "$k")")"
		done >"$LC_RUN/host-sysctls"
	fi
	ip -4 addr show dev lo | grep -q " $NODE_IP/32" || ip addr add "$NODE_IP/32" dev lo
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link add "$BRIDGE" type bridge
		ip addr add "$POD_GW/${POD_CIDR#*/}" dev "$BRIDGE"
		# IPv4 only: no link-local IPv6 chatter from the host on the bridge.
		echo 1 >"/proc/sys/net/ipv6/conf/$BRIDGE/disable_ipv6" 2>/dev/null || true
	fi
	ip link set "$BRIDGE" up
	ip route replace unreachable "$NODE_IP/32" # the address on lo takes precedence while up
	ip route replace unreachable "$CLUSTER_CIDR"
	ip route replace "$SVC_CIDR" dev "$BRIDGE" src "$POD_GW"
	guard_up
	echo 1 >/proc/sys/net/ipv4/ip_forward
	echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
}

guard_up() {
	local forwarded
	forwarded=$(awk '$1 == "net.ipv4.ip_forward" {print $2}' "$LC_RUN/host-sysctls")
	# The cluster's interfaces: cni0, and the veth of each extra node.
	local ifs=("$BRIDGE") n i o
	for n in $(nodes_extra); do ifs+=("$(node_ns "$n")"); done
	# The scale bench's simulated members (hack/sim.sh), while they exist.
	if ip link show lc-sim >/dev/null 2>&1; then ifs+=(lc-sim); fi
	iptables -t mangle -N $GUARD_IN 2>/dev/null || iptables -t mangle -F $GUARD_IN
	iptables -t mangle -A $GUARD_IN -i lo -j RETURN
	for i in "${ifs[@]}"; do
		iptables -t mangle -A $GUARD_IN -i "$i" -j RETURN
	done
	local r
	for r in "$NODE_IP/32" "$CLUSTER_CIDR" "$SVC_CIDR"; do
		iptables -t mangle -A $GUARD_IN -d "$r" -j DROP
	done
	iptables -t mangle -N $GUARD_FWD 2>/dev/null || iptables -t mangle -F $GUARD_FWD
	for i in "${ifs[@]}"; do
		for o in "${ifs[@]}"; do
			iptables -t mangle -A $GUARD_FWD -i "$i" -o "$o" -j RETURN
		done
	done
	for i in "${ifs[@]}"; do
		iptables -t mangle -A $GUARD_FWD -i "$i" -j DROP
		iptables -t mangle -A $GUARD_FWD -o "$i" -j DROP
	done
	# This host did not route before: keep it that way for everything but cni0.
	[ "$forwarded" = 0 ] && iptables -t mangle -A $GUARD_FWD -j DROP
	iptables -t mangle -C PREROUTING -j $GUARD_IN 2>/dev/null || iptables -t mangle -I PREROUTING -j $GUARD_IN
	iptables -t mangle -C FORWARD -j $GUARD_FWD 2>/dev/null || iptables -t mangle -I FORWARD -j $GUARD_FWD
}

net_down() {
	ip link del "$BRIDGE" 2>/dev/null || true # takes the service route with it
	ip addr del "$NODE_IP/32" dev lo 2>/dev/null || true
	[ -f "$LC_RUN/host-sysctls" ] && fence_routes # only after an `up`
	kube_rules_down
	local chain hook
	# (The cut chains hang off two hooks: the chain goes with the second.)
	for chain in $GUARD_IN:PREROUTING $GUARD_FWD:FORWARD $CUT_IN:PREROUTING $CUT_OUT:FORWARD $CUT_OUT:OUTPUT; do
		hook=${chain#*:} chain=${chain%:*}
		while iptables -t mangle -D "$hook" -j "$chain" 2>/dev/null; do :; done
		iptables -t mangle -F "$chain" 2>/dev/null || true
		iptables -t mangle -X "$chain" 2>/dev/null || true
	done
	conntrack -D -s "$CLUSTER_CIDR" >/dev/null 2>&1 || true
	conntrack -D -d "$CLUSTER_CIDR" >/dev/null 2>&1 || true
	if [ -f "$LC_RUN/host-sysctls" ]; then
		local k v
		while read -r k v; do
			echo "$v" >"$(sysctl_path "$k")" 2>/dev/null || true
		done <"$LC_RUN/host-sysctls"
		rm -f "$LC_RUN/host-sysctls"
	fi
}

# kube_rules_down removes the KUBE-* chains of kube-proxy and kubelet (IPv4
# and IPv6): first the jumps from the built-in chains, then the chains.
kube_rules_down() {
	if [ -x "$LC_BIN/kube-proxy" ]; then
		"$LC_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true # it exits 1 when it removed something
	fi
	local ipt t rule chain
	for ipt in iptables ip6tables; do
		for t in filter nat mangle raw; do
			$ipt -t $t -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j KUBE-' | sed 's/^-A //' |
				while read -r rule; do
					# shellcheck disable=SC2086 # the rule is a list of words
					eval "$ipt -t $t -D $rule" 2>/dev/null || true
				done || true # grep finds nothing once clean
			for chain in $($ipt -t $t -S 2>/dev/null | awk '/^-N KUBE-/ {print $2}'); do
				$ipt -t $t -F "$chain" 2>/dev/null || true
			done
			for chain in $($ipt -t $t -S 2>/dev/null | awk '/^-N KUBE-/ {print $2}'); do
				$ipt -t $t -X "$chain" 2>/dev/null || true
			done
		done
	done
}

# fence_routes: keep stopped-cluster addresses from leaving the machine.
fence_routes() {
	local r
	for r in "$NODE_IP/32" "$CLUSTER_CIDR" "$SVC_CIDR"; do
		ip route replace unreachable "$r"
	done
}

# unfence_routes: on purge, the host goes back to how it was before `up`
# (extra nodes' addresses included: cluster-nodes.sh fences them the same way).
unfence_routes() {
	local r
	for r in "$NODE_IP/32" "$CLUSTER_CIDR" "$SVC_CIDR" $(nodes_fenced); do
		ip route del unreachable "$r" 2>/dev/null || true
	done
}
