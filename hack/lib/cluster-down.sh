# shellcheck shell=bash
# `down` stops everything and leaves no process, mount, netns, bridge, address
# or iptables chain behind; state on disk stays for the next `up`, and so do
# three unreachable routes (see cluster-net.sh). `purge` also deletes those.

cluster_down() {
	need_root
	mkdir -p "$LC_RUN"
	local c
	! sim_running || sim_down # hack/sim.sh's nodes and processes ride on this cluster
	nodes_down # extra nodes first, while the API server can still hear about their pods
	rm -f "$LC_RUN/nodes" # the next `up` makes one node unless told otherwise
	stop_proc kubelet
	mark_pods_not_ready "$NODE_NAME"
	for c in provisioner coredns kube-proxy kube-scheduler kube-controller-manager; do
		stop_proc "$c" &
	done
	wait
	say "control loops and kubelet stopped"
	if proc_pid containerd >/dev/null; then
		# Through CRI, so containerd tears down each pod's network and mounts.
		"$LC_BIN/cri-reset" --endpoint "$LC_RUN/containerd/containerd.sock" --grace 10 >"$LC_LOG/cri-reset.log" 2>&1 ||
			say "warning: cri-reset: $(tail -1 "$LC_LOG/cri-reset.log")"
		remove_leftover_tasks
		say "pods removed"
	fi
	stop_proc containerd &
	# Its state is all in etcd; its graceful shutdown occasionally waits for
	# a connection to drain for a minute, so it gets less patience.
	stop_proc kube-apiserver 5 &
	wait
	stop_proc etcd
	say "processes stopped"
	unmount_state
	remove_pod_netns
	net_down
	remove_kubelet_leftovers
	local left
	left=$(leftovers)
	[ -z "$left" ] || die "down left these behind:"$'\n'"$left"
	local fenced
	fenced=$(nodes_fenced | paste -sd ' ')
	say "down: no process, mount, netns, bridge, address or iptables chain left (unreachable routes for $NODE_IP, $CLUSTER_CIDR, $SVC_CIDR${fenced:+, $fenced} stay until purge)"
}

# leftovers: whatever of ours is still on the host, one item per line.
leftovers() {
	local p
	p=$(leftover_processes)
	[ -z "$p" ] || echo "processes using $LC_DIR: $p"
	state_mounts | sed 's/^/mount: /'
	ip netns list 2>/dev/null | awk '/^cni-/ {print $1}' | while read -r p; do
		ip -n "$p" -4 -o addr show 2>/dev/null | grep -q " ${POD_CIDR%.*}\." && echo "netns: $p"
	done
	ip link show "$BRIDGE" >/dev/null 2>&1 && echo "link: $BRIDGE"
	ip -4 -o addr show dev lo | grep -qF " $NODE_IP/" && echo "address: $NODE_IP on lo"
	ip -4 -o route show table all | grep -E "^(${CLUSTER_CIDR%%/*}|${SVC_CIDR%%/*})/" | sed 's/^/route: /'
	{ iptables-save; ip6tables-save; } 2>/dev/null | grep -E '^:(KUBE-|LOCAL-CLUSTER-)' | sed 's/ .*//; s/^:/iptables chain: /'
	nodes_leftovers
	return 0
}

# leftover_processes: PIDs whose command line mentions our folder (e.g. a
# container shim whose containerd died). Reported, not killed: not ours by PID file.
leftover_processes() {
	local f cmd
	grep -lsaF -- "$LC_DIR/" /proc/[0-9]*/cmdline | while read -r f; do
		cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
		# this very search, alive or already a zombie (empty command line)
		[ -z "$cmd" ] || [ "${cmd%% *}" = grep ] && continue
		f=${f#/proc/}
		printf '%s ' "${f%/cmdline}"
	done || true # grep finds nothing: the usual case
}

# mark_pods_not_ready: the pods' containers are about to go, but their status
# in etcd would still say Ready after the next `up`, until kubelet gets to
# each of them; a waiting client would then trust a dead pod IP. This is what
# the node lifecycle controller does when a node stops reporting.
# mark_pods_not_ready [NODE]
mark_pods_not_ready() {
	proc_pid kube-apiserver >/dev/null || return 0
	local patch='{"status":{"conditions":[{"type":"Ready","status":"False","reason":"NodeDown","message":"local cluster is down"},{"type":"ContainersReady","status":"False","reason":"NodeDown"}]}}'
	kctl get pods -A --field-selector "spec.nodeName=${1:-$NODE_NAME},status.phase=Running" --request-timeout=10s \
		-o jsonpath='{range .items[*]}--namespace={.metadata.namespace} {.metadata.name}{"\n"}{end}' 2>/dev/null |
		xargs -r -n 2 -P 4 "$LC_BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout=10s \
			patch pod --subresource=status --type=strategic -p "$patch" >/dev/null 2>&1 || true
}

# remove_leftover_tasks: containers CRI did not know about (e.g. started with ctr).
remove_leftover_tasks() {
	local id
	for id in $(ctr_ tasks ls -q 2>/dev/null); do
		ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
	done
	for id in $(ctr_ containers ls -q 2>/dev/null); do
		ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true
		ctr_ containers delete "$id" >/dev/null 2>&1 || true
	done
}

# state_mounts: mount points under our folder, deepest first.
state_mounts() {
	awk -v d="$LC_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r
}

unmount_state() {
	local m
	for m in $(state_mounts); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "warning: cannot unmount $m"
	done
}

# remove_pod_netns: pod namespaces CRI left behind; ours are recognised by an
# address from our pod range, and removed only when no process uses them.
remove_pod_netns() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ {print $1}'); do
		ip -n "$ns" -4 -o addr show 2>/dev/null | grep -q " ${POD_CIDR%.*}\." || continue
		if [ -n "$(ip netns pids "$ns" 2>/dev/null)" ]; then
			say "warning: netns $ns still has processes: $(ip netns pids "$ns" | tr '\n' ' ')"
			continue
		fi
		ip netns del "$ns" 2>/dev/null || true
	done
}

remove_kubelet_leftovers() {
	# Pod cgroups, deepest first (cgroup v1 has one tree per controller).
	find /sys/fs/cgroup -maxdepth 2 -type d -name 'kubepods*' 2>/dev/null | while read -r d; do
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	# kubelet links container logs into /var/log/containers, a fixed path.
	find /var/log/containers -maxdepth 1 -type l -lname "$LC_VAR/*" -delete 2>/dev/null || true
	if [ -f "$LC_RUN/made-var-log-containers" ]; then
		rmdir /var/log/containers 2>/dev/null || true
		rm -f "$LC_RUN/made-var-log-containers"
	fi
	# Pod directories only hold mount points and emptyDirs once pods are gone;
	# kubelet recreates them. IP leases go with the pods.
	if [ -z "$(state_mounts)" ]; then
		rm -rf --one-file-system "$LC_VAR/kubelet/pods" "$LC_VAR/cni-ipam"
	fi
}

cluster_purge() {
	cluster_down
	[ -z "$(state_mounts)" ] || die "still mounted under $LC_DIR, not deleting: $(state_mounts | head -3)"
	unfence_routes
	rm -rf --one-file-system "$LC_VAR" "$LC_RUN" "$LC_LOG" "$LC_ETC" "$LC_PKI"
	if [ "${1:-}" = --all ]; then
		rm -rf --one-file-system "$LC_DIR"
		say "purged everything, including binaries and images"
	else
		say "purged cluster state (kept $LC_BIN and $LC_IMAGES)"
	fi
}
