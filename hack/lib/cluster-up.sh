# shellcheck shell=bash
# `up`: everything needed, in dependency order; steps already done are skipped,
# so a second `up` only checks and returns.

cluster_up() {
	need_root
	local NODES_WANTED
	NODES_WANTED=$(nodes_wanted)
	mkdir -p "$LC_BIN" "$LC_IMAGES" "$LC_ETC" "$LC_VAR" "$LC_RUN" "$LC_LOG"
	check_socket_paths
	deps_ensure
	net_preflight
	ports_check "${COMPONENTS[@]}"
	fence_routes # from here on, even a failed `up` keeps cluster addresses on this host
	build_binaries
	build_images
	certs_ensure
	config_write
	[ -d /var/log/containers ] || touch "$LC_RUN/made-var-log-containers" # kubelet makes it; down removes it
	net_up
	say "host network ready (node $NODE_IP on lo, pods $POD_CIDR on $BRIDGE)"

	start_etcd
	start_containerd
	wait_for "etcd ready" 30 curl -sf http://127.0.0.1:2381/health
	start_kube_apiserver
	wait_for "containerd ready" 30 ctr_ version
	import_builtin_images
	wait_for "kube-apiserver ready" 60 kctl get --raw /readyz
	nodes_prune "$NODES_WANTED"
	echo "$NODES_WANTED" >"$LC_RUN/nodes"

	local kubelet_start=
	proc_pid kubelet >/dev/null || kubelet_start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	start_kube_controller_manager
	start_kube_scheduler
	start_kubelet
	start_kube_proxy
	addons_apply
	start_coredns
	start_provisioner
	wait_for "node $NODE_NAME Ready" 120 node_ready "$kubelet_start"
	nodes_up "$NODES_WANTED"
	wait_for "default service account exists (pods can be created)" 60 kctl -n default get serviceaccount default
	wait_for "CoreDNS ready" 30 curl -sf http://127.0.0.1:10253/ready
	if ((NODES_WANTED > 1)); then
		say "cluster up with $NODES_WANTED nodes; kubeconfig: $ADMIN_KUBECONFIG"
	else
		say "cluster up; kubeconfig: $ADMIN_KUBECONFIG"
	fi
}

# node_ready [SINCE [NODE]]: Ready, and if kubelet was just started, reported by it
# (a restarted cluster still holds the Ready condition from before `down`).
node_ready() {
	local s
	s=$(kctl get node "${2:-$NODE_NAME}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}') || return 1
	[ "${s%% *}" = True ] || return 1
	[ -z "${1:-}" ] || [[ ! "${s#* }" < "$1" ]]
}

# Unix sockets have a 107-byte path limit; a deep checkout would break them.
check_socket_paths() {
	local p
	local last=$LC_RUN/$NODE_NAME-$NODES_MAX
	for p in "$LC_RUN/containerd/containerd.sock.ttrpc" "$LC_VAR/kubelet/plugins_registry/x-reg.sock" \
		"$LC_VAR/kubelet/pod-resources/kubelet.sock" "$last/containerd/containerd.sock.ttrpc"; do
		[ ${#p} -le 100 ] || die "the state path $LC_DIR is too long for Unix sockets; set LOCAL_CLUSTER_DIR to a shorter one"
	done
}
