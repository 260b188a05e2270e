# shellcheck shell=bash
# Extra nodes. `up` with LOCAL_CLUSTER_NODES=N (make local-up NODES=N) adds
# nodes 2..N to the first one, which stays as it is (host network, control
# plane). Node N is a machine made of namespaces:
#  - network namespace lc-nodeN, joined to the host by a veth pair (host end
#    lc-nodeN, node end eth0). Node address 10.250.0.N; inside, routes to the
#    cluster's ranges only, through the host (10.250.0.1): no default route,
#    no NAT. The host routes the node's address and its pod range (the
#    Node's spec.podCIDR, which the controller-manager hands out) into the veth.
#  - a mount namespace of its own, held by a `sleep` (the "machine"
#    process): /var/lib/kubelet and /var/log are the node's own directories,
#    its pods' mounts and network namespaces are invisible to the host and
#    to the other nodes, and they all vanish with the node's last process.
#  - cgroup /NAME in every hierarchy: its daemons in /NAME/system, its pods
#    under /NAME/kubepods (kubelet's cgroupRoot), so two kubelets never take
#    each other's pods for orphans, and `node stop` finds every process of
#    the node, container shims included.
#  - its own containerd (images imported into each), kubelet, kube-proxy
#    (rules in the node's netns) and hostpath-provisioner (volumes in the
#    node's directory, pinned to the node: a node-local disk).
# Files: $LC_ETC, $LC_PKI, $LC_VAR, $LC_RUN and $LC_LOG each have a folder
# per extra node, named after it.
#
# Faults (`hack/local-cluster.sh node ACTION NODE`):
#  - cut: the host drops every packet to and from the node's veth (mangle
#    table, ahead of everything else); the node keeps running, unreachable.
#  - heal: undoes cut.
#  - stop: the node's cgroup is frozen and every process in it killed at
#    once (power loss: no graceful stop, no CRI), and its veth drops traffic
#    as for cut (a dead machine answers nothing); its /run state goes.
#  - start: boots it again; kubelet finds no containers and restarts its pods.

CUT_IN=LOCAL-CLUSTER-CUT-IN   # mangle PREROUTING: from a cut node
CUT_OUT=LOCAL-CLUSTER-CUT-OUT # mangle FORWARD and OUTPUT: to a cut node
NODE_PARTS=(machine containerd kubelet kube-proxy provisioner)

node_name() { echo "$NODE_NAME-$1"; }
node_ip() { echo "${NODE_IP%.*}.$1"; }
node_ns() { echo "$NODE_NS_PREFIX$1"; }

# node_index NAME|N: the index of an extra node (2..NODES_MAX), else fail.
node_index() {
	local n=${1#"$NODE_NAME"-}
	if ! [[ $n =~ ^[0-9]+$ ]] || ((10#$n < 2 || 10#$n > NODES_MAX)); then
		return 1
	fi
	echo $((10#$n))
}

# node_vars N: the node's name, address, netns and folders, into the
# caller's locals (it declares: local nm ip ns etc var run log pki).
node_vars() {
	nm=$(node_name "$1") ip=$(node_ip "$1") ns=$(node_ns "$1")
	etc=$LC_ETC/$nm var=$LC_VAR/$nm run=$LC_RUN/$nm log=$LC_LOG/$nm pki=$LC_PKI/$nm
}

# nodes_wanted: how many nodes `up` makes: LOCAL_CLUSTER_NODES if set, else
# as many as the cluster has (up records it, down forgets it), else 1. So a
# plain `up` on a running 3-node cluster (object-store, e2e restarts) keeps
# three, and after `down` the default is one node again.
nodes_wanted() {
	local n=${LOCAL_CLUSTER_NODES:-}
	[ -n "$n" ] || n=$(cat "$LC_RUN/nodes" 2>/dev/null) || n=1
	if ! [[ $n =~ ^[0-9]+$ ]] || ((10#$n < 1 || 10#$n > NODES_MAX)); then
		die "LOCAL_CLUSTER_NODES=$n: want 1 to $NODES_MAX"
	fi
	echo $((10#$n))
}

# nodes_extra: indexes of the extra nodes `up` makes (none for one node).
nodes_extra() {
	local w
	w=${NODES_WANTED:-$(nodes_wanted)}
	((w < 2)) || seq 2 "$w"
}

# nodes_known: indexes of the extra nodes that have anything on this host
# (run folder, netns, cgroup), whatever LOCAL_CLUSTER_NODES says: for down.
nodes_known() {
	local d
	{
		for d in "$LC_RUN/$NODE_NAME"-*/ /sys/fs/cgroup/freezer/"$NODE_NAME"-*/ /sys/fs/cgroup/"$NODE_NAME"-*/; do
			if [ -d "$d" ]; then basename "$d"; fi
		done
		for d in /run/netns/"$NODE_NS_PREFIX"*; do
			if [ -e "$d" ]; then echo "${d#/run/netns/"$NODE_NS_PREFIX"}"; fi
		done
	} | while read -r d; do node_index "$d" || true; done | sort -nu
}

# nodes_fenced: unreachable routes of extra nodes' addresses (for purge).
nodes_fenced() {
	ip -4 -o route show type unreachable 2>/dev/null | awk -v p="${NODE_IP%.*}." '
		index($2, p) == 1 && $2 != "'"$NODE_IP"'" {print $2 (index($2, "/") ? "" : "/32")}'
}

# node_pod_cidr NAME: the Node's pod range, once the controller-manager gave it one.
node_pod_cidr() {
	local c
	c=$(kctl get node "$1" --request-timeout=5s -o jsonpath='{.spec.podCIDR}' 2>/dev/null) && [ -n "$c" ] && echo "$c"
}

# --- start ---

# nodes_up WANTED: the extra nodes, once the first one is Ready. Nodes that
# are cut off are left as they are (heal them first).
nodes_up() {
	local n since=() names=() i c started
	(($1 >= 2)) || return 0
	wait_for "node $NODE_NAME has its pod range" 60 node_pod_cidr "$NODE_NAME"
	c=$(node_pod_cidr "$NODE_NAME")
	# The first node's bridge is made before kubelet knows its range: it must
	# have been given the first one, which it is when it registers first.
	[ "$c" = "$POD_CIDR" ] || die "node $NODE_NAME has pod range $c, but its bridge $BRIDGE serves $POD_CIDR: purge, then up"
	# Prepared side by side (containerd's start and the image imports take
	# the time); certificates first, as they share the CA's serial file.
	local pids=()
	for n in $(seq 2 "$1"); do
		[ -e "$LC_RUN/$(node_name "$n")/cut" ] || node_certs_of "$n"
	done
	for n in $(seq 2 "$1"); do
		if [ ! -e "$LC_RUN/$(node_name "$n")/cut" ]; then
			node_prepare "$n" &
			pids+=($!)
		fi
	done
	for i in "${pids[@]}"; do
		wait "$i" || die "preparing an extra node failed (logs: $LC_LOG/$NODE_NAME-*)"
	done
	# One kubelet at a time, so node N normally gets range 10.244.(N-1).0/24.
	for n in $(seq 2 "$1"); do
		if [ -e "$LC_RUN/$(node_name "$n")/cut" ]; then
			say "$(node_name "$n") is cut off: left as it is (hack/local-cluster.sh node heal $(node_name "$n"))"
			continue
		fi
		names+=("$(node_name "$n")")
		node_boot "$n"
		since+=("$started")
	done
	for i in "${!names[@]}"; do
		wait_for "node ${names[i]} Ready" 120 node_ready "${since[i]}" "${names[i]}"
	done
}

# node_prepare N: folders, certificates, configuration, network, cgroups,
# the machine process and containerd with the images: all but kubelet.
node_prepare() {
	local n=$1 nm ip ns etc var run log pki
	node_vars "$n"
	mkdir -p "$etc/cni" "$var/log" "$var/kubelet" "$var/volumes" "$run" "$log"
	rm -f "$run/stopped" # booting
	node_certs
	node_config
	node_net_up
	node_isolation_sync
	node_cgroups_up "$nm"
	if ! proc_pid "$nm/machine" >/dev/null && [ -n "$(node_pids "$nm" | tr -d ' ')" ]; then
		# Its mount namespace is gone: what still runs cannot share one with
		# what would start now. Power-cycle the node.
		say "$nm: its machine process is gone; restarting the node"
		node_kill_all "$nm"
	fi
	node_start_machine
	node_start_containerd
	# shellcheck disable=SC2034 # read by ctr_ and import_builtin_images
	local CTR_SOCKET=$run/containerd/containerd.sock IMPORT_LOG=$log/import.log IMPORTED_DIR=$var/images-imported
	wait_for "$nm: network $ns ($ip), containerd ready" 30 ctr_ version
	import_builtin_images
	node_import_loaded
}

# image_record ARCHIVE: the node's record of the version of ARCHIVE it has.
image_record() {
	mkdir -p "$IMPORTED_DIR/loaded"
	echo "$IMPORTED_DIR/loaded/$(realpath "$1" | tr -d '\n' | sha256sum | cut -c1-16)"
}

# node_import_loaded: the archives load-image took (remember_image) that
# this node lacks or has an older version of; vanished archives are skipped.
node_import_loaded() { # (node_vars and the ctr_ locals in scope)
	local a sum rec
	[ -f "$LC_VAR/loaded-images" ] || return 0
	while read -r a; do
		[ -f "$a" ] || continue
		rec=$(image_record "$a")
		sum=$(cksum <"$a")
		[ "$(cat "$rec" 2>/dev/null)" = "$sum" ] && continue
		import_image "$a"
		echo "$sum" >"$rec"
		say "$nm: imported $a"
	done <"$LC_VAR/loaded-images"
}

# node_boot N: kubelet; then, once the Node has its pod range, the pod
# network, kube-proxy and the provisioner. Sets the caller's `started` to
# when kubelet started (for node_ready), empty if it was running already.
node_boot() {
	local n=$1 nm ip ns etc var run log pki
	node_vars "$n"
	started=
	proc_pid "$nm/kubelet" >/dev/null || started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	local machine
	machine=$(proc_pid "$nm/machine") || die "$nm: its machine process is not running"
	# shellcheck disable=SC2034 # read by start_proc
	local -a PROC_WRAP=(/bin/sh -c "$NODE_JOIN" node-join "$nm/system" nsenter --target="$machine" --mount --net --)
	start_proc "$nm/kubelet" "$LC_BIN/kubelet" --config="$etc/kubelet.yaml" \
		--kubeconfig="$etc/kubelet.kubeconfig" --root-dir=/var/lib/kubelet \
		--cert-dir=/var/lib/kubelet/pki --node-ip="$ip" --hostname-override="$nm" --v=1
	wait_for "$nm: pod range assigned" 60 node_pod_cidr "$nm"
	node_pod_net "$(node_pod_cidr "$nm")"
	start_proc "$nm/kube-proxy" "$LC_BIN/kube-proxy" --config="$etc/kube-proxy.yaml" --v=1
	start_proc "$nm/provisioner" "$LC_BIN/hostpath-provisioner" --kubeconfig="$LC_ETC/provisioner.kubeconfig" \
		--name="$PROVISIONER_NAME" --root="$var/volumes" --node="$nm" --unselected=false
}

# The node's processes start through these wrappers (PROC_WRAP of
# start_proc): join the node's cgroup, then enter its namespaces. Each step
# ends in exec, so the PID file's PID is the binary's. A v1 cgroup takes a
# process in each hierarchy; v2 has the one.
# shellcheck disable=SC2016 # for the inner shell
NODE_JOIN='cg=$1; shift
for f in /sys/fs/cgroup/*/"$cg"/cgroup.procs /sys/fs/cgroup/"$cg"/cgroup.procs; do
	[ -f "$f" ] && echo $$ >"$f"
done
exec "$@"'

# node_mounts_script: run by the machine process in its new mount
# namespace, which starts as a copy of the host's.
node_mounts_script() {
	cat <<'EOF'
var=$1 lc=$2; shift 2
# Copies of the host's mounts under the cluster folder (the first node's pods)
# and under /run/netns (pod and node network namespaces) would keep those
# alive as long as this node runs: drop them here.
for m in $(awk -v d="$lc/" 'index($5, d) == 1 || index($5, "/run/netns/") == 1 {print $5}' /proc/self/mountinfo | sort -r); do
	umount -l "$m"
done
# Paths kubelet takes for its own whatever its flags (/var/lib/kubelet/device-plugins,
# /var/log/containers): this node's.
mount --bind "$var/log" /var/log && mount --bind "$var/kubelet" /var/lib/kubelet && exec "$@"
EOF
}

node_start_machine() { # (node_vars in scope)
	mkdir -p /var/lib/kubelet # the mount point; the first node's kubelet makes it anyway
	# shellcheck disable=SC2016 # for the inner shell
	# shellcheck disable=SC2034 # read by start_proc
	local -a PROC_WRAP=(/bin/sh -c "$NODE_JOIN" node-join "$nm/system"
		nsenter --net="/run/netns/$ns" unshare --mount --propagation private
		/bin/sh -c "$(node_mounts_script)" node-mounts "$var" "$LC_DIR")
	start_proc "$nm/machine" "$(command -v sleep)" infinity
}

node_start_containerd() { # (node_vars in scope)
	local machine
	machine=$(proc_pid "$nm/machine") || die "$nm: its machine process is not running"
	# shellcheck disable=SC2034 # read by start_proc
	local -a PROC_WRAP=(/bin/sh -c "$NODE_JOIN" node-join "$nm/system" nsenter --target="$machine" --mount --net --)
	mkdir -p "$run/containerd"
	start_containerd "$nm/containerd" "$etc/containerd.toml"
}

node_certs_of() { # N
	local nm ip ns etc var run log pki
	node_vars "$1"
	node_certs
}

node_certs() { # (node_vars in scope) kubelet's client and serving certificates
	local want="$nm $ip v1"
	[ "$(cat "$pki/stamp" 2>/dev/null)" = "$want" ] && [ -f "$pki/kubelet.crt" ] && return 0
	rm -rf "$pki"
	mkdir -p "$pki"
	(
		umask 077
		cd "$LC_PKI" || exit 1
		signed "$nm/kubelet-serving" "/CN=$nm" serverAuth "DNS:$nm,DNS:localhost,IP:127.0.0.1,IP:$ip"
		signed "$nm/kubelet" "/O=system:nodes/CN=system:node:$nm" clientAuth
		rm -f "$nm"/*.csr ./*.srl
	) || die "certificate generation for $nm failed"
	echo "$want" >"$pki/stamp"
}

# node_config: as the first node's, but the node's own address, sockets and
# folders; containerd mounts pods' netns under its state folder (not
# /run/netns, which the host's `ip netns` lists).
node_config() { # (node_vars in scope)
	kubeconfig "$nm/kubelet" | write_if_changed "$etc/kubelet.kubeconfig"
	containerd_config_for "$var" "$run" "$etc/cni" |
		sed '/^  restrict_oom_score_adj = true$/a\  netns_mounts_under_state_dir = true' |
		write_if_changed "$etc/containerd.toml"
	kubelet_config_for "$ip" "$run/containerd/containerd.sock" /var/log/pods "$var/kubelet-plugins" \
		"$pki/kubelet-serving" "/$nm" | write_if_changed "$etc/kubelet.yaml"
	kube_proxy_config_for "$nm" "$ip" | write_if_changed "$etc/kube-proxy.yaml"
}

# node_net_up: the netns, the veth pair, addresses and routes (both sides).
node_net_up() { # (node_vars in scope)
	[ -e "/run/netns/$ns" ] || ip netns add "$ns"
	ip link show "$ns" >/dev/null 2>&1 || ip link add "$ns" type veth peer name eth0 netns "$ns"
	echo 1 >"/proc/sys/net/ipv6/conf/$ns/disable_ipv6" 2>/dev/null || true
	ip link set "$ns" up
	# The node's own stack: it routes for its pods, and bridged pod traffic
	# goes through its kube-proxy's rules.
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
		net.ipv6.conf.eth0.disable_ipv6=1
	ip -n "$ns" link set lo up
	ip -n "$ns" addr replace "$ip/32" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route replace "$NODE_IP/32" dev eth0 scope link src "$ip"
	local r
	for r in "$NODE_NET" "$CLUSTER_CIDR" "$SVC_CIDR"; do
		ip -n "$ns" route replace "$r" via "$NODE_IP" dev eth0 src "$ip"
	done
	# Host side: replaces the node address's unreachable fence while the veth exists.
	ip route replace "$ip/32" dev "$ns" scope link src "$NODE_IP"
}

# node_pod_net CIDR: the node's bridge (as cni0 on the host: made before the
# first pod), the host's route to the range, and the CNI configuration.
node_pod_net() { # (node_vars in scope)
	local cidr=$1 net=${1%/*} gw
	gw=${net%.*}.$((${net##*.} + 1))
	ip -n "$ns" link show "$BRIDGE" >/dev/null 2>&1 || ip -n "$ns" link add "$BRIDGE" type bridge
	if ! ip -n "$ns" -4 -o addr show dev "$BRIDGE" | grep -qF " $gw/${cidr#*/} "; then
		ip -n "$ns" addr flush dev "$BRIDGE" # a Node made again may have a new range
		ip -n "$ns" addr add "$gw/${cidr#*/}" dev "$BRIDGE"
	fi
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$BRIDGE.disable_ipv6=1"
	ip -n "$ns" link set "$BRIDGE" up
	local r
	for r in $(ip -4 -o route show dev "$ns" | awk '{print $1}'); do
		[ "$r" = "$cidr" ] || [ "$r" = "$ip" ] || ip route del "$r" dev "$ns"
	done
	ip route replace "$cidr" via "$ip" dev "$ns" src "$NODE_IP"
	cni_config_for "$cidr" "$gw" "$NODE_NET" "$var/cni-ipam" | write_if_changed "$etc/cni/10-local-cluster.conflist"
	say "$nm: pods $cidr on its $BRIDGE, routed from the host through $ns"
}

# node_cgroups_up NAME: /NAME/system in each hierarchy (v1 controllers, the
# named systemd one, the v2 one of a hybrid set-up; or the v2 tree).
# A new v1 cpuset is empty and takes no process: copy the parent's.
node_cgroups_up() {
	local h d
	for h in $(cgroup_hierarchies); do
		for d in "$h/$1" "$h/$1/system"; do
			mkdir -p "$d"
			if [ -f "$d/cpuset.cpus" ] && [ -z "$(cat "$d/cpuset.cpus")" ]; then
				cat "${d%/*}/cpuset.cpus" >"$d/cpuset.cpus"
				cat "${d%/*}/cpuset.mems" >"$d/cpuset.mems"
			fi
		done
		# v2: kubelet needs the controllers in the node's subtree.
		if [ -f "$h/cgroup.subtree_control" ] && [ "$h" = /sys/fs/cgroup ]; then
			sed 's/\([a-z_][a-z_]*\)/+\1/g' "$h/cgroup.subtree_control" >"$h/$1/cgroup.subtree_control" 2>/dev/null || true
		fi
	done
}

cgroup_hierarchies() {
	if [ -f /sys/fs/cgroup/cgroup.procs ]; then
		echo /sys/fs/cgroup
		return
	fi
	local h
	for h in /sys/fs/cgroup/*/; do
		if [ -f "${h}cgroup.procs" ]; then echo "${h%/}"; fi
	done
}

# node_cgroups_down NAME: remove the node's cgroups, deepest first (only empty ones go).
node_cgroups_down() {
	local h
	for h in $(cgroup_hierarchies); do
		if [ -d "$h/$1" ]; then find "$h/$1" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
	done
}

# node_pids NAME: every process in the node's cgroups.
node_pids() {
	local h
	[[ $1 == "$NODE_NAME"-[0-9]* ]] || die "node_pids: bad node name '$1'" # never the whole tree
	for h in $(cgroup_hierarchies); do
		if [ -d "$h/$1" ]; then find "$h/$1" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
	done | sort -nu | tr '\n' ' '
}

# node_kill_all NAME: SIGKILL every process of the node at once, frozen
# first so that none of them can react (fork, restart a container, stop
# one gracefully): as at power loss.
node_kill_all() {
	local fz=/sys/fs/cgroup/freezer/$1 i pids
	[[ $1 == "$NODE_NAME"-[0-9]* ]] || die "node_kill_all: bad node name '$1'"
	if [ -f "$fz/freezer.state" ]; then
		echo FROZEN >"$fz/freezer.state"
		for ((i = 0; i < 100; i++)); do
			[ "$(cat "$fz/freezer.state")" = FROZEN ] && break
			sleep 0.05
		done
	fi
	for ((i = 0; i < 200; i++)); do
		pids=$(node_pids "$1")
		[ -n "${pids// /}" ] || break
		# shellcheck disable=SC2086 # a list of PIDs
		kill -KILL $pids 2>/dev/null || true
		if [ -f "$fz/freezer.state" ]; then
			echo THAWED >"$fz/freezer.state" # killed tasks die once thawed
		fi
		sleep 0.05
	done
	if [ -f "$fz/freezer.state" ]; then
		echo THAWED >"$fz/freezer.state" # a frozen cgroup would freeze the next boot
	fi
	pids=$(node_pids "$1")
	[ -z "${pids// /}" ] || die "$1: processes survived SIGKILL: $pids"
}

# --- faults ---

cut_chains() {
	iptables -t mangle -N $CUT_IN 2>/dev/null || true
	iptables -t mangle -N $CUT_OUT 2>/dev/null || true
	iptables -t mangle -C PREROUTING -j $CUT_IN 2>/dev/null || iptables -t mangle -I PREROUTING -j $CUT_IN
	iptables -t mangle -C FORWARD -j $CUT_OUT 2>/dev/null || iptables -t mangle -I FORWARD -j $CUT_OUT
	iptables -t mangle -C OUTPUT -j $CUT_OUT 2>/dev/null || iptables -t mangle -I OUTPUT -j $CUT_OUT
}

# node_isolation_sync: the node's veth drops everything while the node is
# cut or stopped. Drops, not rejects: a partition or a dead machine answers
# nothing, and clients time out as they would on a real network.
node_isolation_sync() { # (node_vars in scope)
	if [ -e "$run/cut" ] || [ -e "$run/stopped" ]; then
		cut_chains
		iptables -t mangle -C $CUT_IN -i "$ns" -j DROP 2>/dev/null || iptables -t mangle -A $CUT_IN -i "$ns" -j DROP
		iptables -t mangle -C $CUT_OUT -o "$ns" -j DROP 2>/dev/null || iptables -t mangle -A $CUT_OUT -o "$ns" -j DROP
	else
		while iptables -t mangle -D $CUT_IN -i "$ns" -j DROP 2>/dev/null; do :; done
		while iptables -t mangle -D $CUT_OUT -o "$ns" -j DROP 2>/dev/null; do :; done
	fi
}

# cluster_node ACTION NODE: the fault commands.
cluster_node() {
	need_root
	[ $# -eq 2 ] || die "usage: node cut|heal|stop|start NODE"
	local n nm ip ns etc var run log pki
	n=$(node_index "$2") ||
		die "$2: not an extra node ($NODE_NAME-2, $NODE_NAME-3, ...); $NODE_NAME carries the control plane and takes no faults"
	node_vars "$n"
	[ -d "$run" ] || die "$nm is not part of the cluster (up with LOCAL_CLUSTER_NODES=$n or more)"
	case $1 in
	cut)
		touch "$run/cut"
		node_isolation_sync
		say "$nm cut off: nothing reaches it, it reaches nothing; it keeps running (node heal $nm)"
		;;
	heal)
		rm -f "$run/cut"
		node_isolation_sync
		if [ -e "$run/stopped" ]; then
			say "$nm healed (still stopped: node start $nm)"
		else
			say "$nm healed: reachable again"
		fi
		;;
	stop) node_stop ;;
	start)
		proc_pid kube-apiserver >/dev/null || die "the cluster is down: up first"
		[ ! -e "$run/cut" ] || die "$nm is cut off: heal it first"
		node_prepare "$n"
		local started
		node_boot "$n"
		wait_for "node $nm Ready" 120 node_ready "$started" "$nm"
		;;
	*) die "usage: node cut|heal|stop|start NODE" ;;
	esac
}

# node_stop: power loss. No CRI, no SIGTERM: every process of the node dies
# at once, its mounts and pod network namespaces with its mount namespace,
# its /run state (containerd's and runc's) with the power. Disk stays:
# images, volumes, kubelet's folder. The Node object is left to the
# controller-manager, which marks it NotReady after its grace period.
node_stop() { # (node_vars in scope)
	touch "$run/stopped"
	node_isolation_sync
	node_kill_all "$nm"
	local p
	for p in "${NODE_PARTS[@]}"; do rm -f "$(pidfile "$nm/$p")"; done
	rm -rf --one-file-system "$run/containerd" "$run/runc"
	node_cgroups_down "$nm"
	say "$nm stopped: no process left; its address answers nothing (node start $nm)"
}

# --- stop for good ---

# node_down N: graceful, as the first node's down: kubelet first, pods
# marked NotReady, containers stopped through CRI; then what is left, the
# network, cgroups and /run state. Disk stays.
node_down() {
	local n=$1 nm ip ns etc var run log pki
	node_vars "$n"
	stop_proc "$nm/kubelet"
	mark_pods_not_ready "$nm"
	stop_proc "$nm/provisioner" &
	stop_proc "$nm/kube-proxy" &
	wait
	if proc_pid "$nm/containerd" >/dev/null; then
		mkdir -p "$log"
		"$LC_BIN/cri-reset" --endpoint "$run/containerd/containerd.sock" --grace 10 >"$log/cri-reset.log" 2>&1 ||
			say "warning: $nm: cri-reset: $(tail -1 "$log/cri-reset.log")"
		local CTR_SOCKET=$run/containerd/containerd.sock
		remove_leftover_tasks
	fi
	stop_proc "$nm/containerd"
	stop_proc "$nm/machine"
	node_kill_all "$nm" # shims of containers CRI no longer knew
	rm -f "$run/cut" "$run/stopped"
	node_isolation_sync
	ip link del "$ns" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	ip route replace unreachable "$ip/32" # as the first node's address: never the default route
	node_cgroups_down "$nm"
	rm -rf --one-file-system "$run"
	rm -rf --one-file-system "$var/kubelet/pods" "$var/cni-ipam"
	say "$nm down"
}

# nodes_down: every extra node on this host, in parallel. A failure is
# reported; down's final check names whatever it left.
nodes_down() {
	local n pids=()
	for n in $(nodes_known); do
		node_down "$n" &
		pids+=($!)
	done
	for n in "${pids[@]}"; do
		wait "$n" || say "warning: taking an extra node down failed (exit $?)"
	done
}

# nodes_prune WANTED: nodes beyond WANTED go: down, and their Node objects
# deleted (their pods with them; their folders stay for a later `up`).
nodes_prune() {
	local n nm
	for n in $(nodes_known); do
		if ((n > $1)); then
			node_down "$n"
		fi
	done
	for nm in $(kctl get nodes -o name | sed 's|^node/||'); do
		if n=$(node_index "$nm") && ((n > $1)); then
			kctl delete node "$nm" --wait=true >/dev/null
			# Their pods would wait for the pod garbage collector's quarantine.
			kctl delete pods -A --field-selector "spec.nodeName=$nm" --force --grace-period=0 >/dev/null 2>&1 || true
			say "removed node $nm and its pods (the cluster now has $1)"
		fi
	done
}

# nodes_leftovers: what of the extra nodes is still on the host, for down's check.
nodes_leftovers() {
	local d
	for d in /run/netns/"$NODE_NS_PREFIX"*; do
		if [ -e "$d" ]; then echo "netns: ${d#/run/netns/}"; fi
	done
	ip -o link show 2>/dev/null | awk -F': ' -v p="$NODE_NS_PREFIX" 'index($2, p) == 1 {sub(/@.*/, "", $2); print "link: " $2}'
	ip -4 -o route show table all 2>/dev/null | grep -E " dev ${NODE_NS_PREFIX}[0-9]+ " | sed 's/^/route: /'
	for d in $(cgroup_hierarchies); do
		compgen -G "$d/$NODE_NAME-[0-9]*" | sed 's/^/cgroup: /'
	done
	return 0
}

# --- status, images ---

nodes_status() {
	local n nm ip ns etc var run log pki p pid ok=0 ready state
	for n in $(nodes_known); do
		node_vars "$n"
		for p in "${NODE_PARTS[@]}"; do
			if pid=$(proc_pid "$nm/$p"); then
				printf '%-24s running (pid %s)\n' "$nm/$p" "$pid"
			else
				printf '%-24s stopped\n' "$nm/$p"
				ok=1
			fi
		done
		state=
		[ -e "$run/cut" ] && state+=", cut off" && ok=1
		[ -e "$run/stopped" ] && state+=", stopped" && ok=1
		ready="unknown -"
		if proc_pid kube-apiserver >/dev/null; then
			ready=$(kctl get node "$nm" --request-timeout=5s \
				-o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.spec.podCIDR}' 2>/dev/null) || ready="unknown -"
		fi
		printf '%-24s %s\n' "node $nm" "Ready=${ready%% *}, address $ip, pods ${ready#* }, netns $ns$state"
		[ "${ready%% *}" = True ] || ok=1
	done
	return $ok
}

# nodes_load_image ARCHIVE: into every extra node whose containerd runs.
nodes_load_image() {
	local n nm ip ns etc var run log pki
	for n in $(nodes_known); do
		node_vars "$n"
		proc_pid "$nm/containerd" >/dev/null || continue
		# shellcheck disable=SC2034 # read by ctr_ and import_image
		local CTR_SOCKET=$run/containerd/containerd.sock IMPORT_LOG=$log/import.log
		import_image "$1"
		# shellcheck disable=SC2034 # read by image_record
		local IMPORTED_DIR=$var/images-imported rec sum
		rec=$(image_record "$1")
		sum=$(cksum <"$1")
		echo "$sum" >"$rec"
	done
}
