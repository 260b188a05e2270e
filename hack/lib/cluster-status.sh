# shellcheck shell=bash
# `status`, `kubeconfig` and `load-image`.

cluster_status() {
	local c pid ok=0
	for c in "${COMPONENTS[@]}"; do
		if pid=$(proc_pid "$c"); then
			printf '%-24s running (pid %s)\n' "$c" "$pid"
		else
			printf '%-24s stopped\n' "$c"
			ok=1
		fi
	done
	if proc_pid kube-apiserver >/dev/null && [ -f "$ADMIN_KUBECONFIG" ]; then
		local ready
		ready=$(kctl get node "$NODE_NAME" --request-timeout=5s \
			-o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) || ready=
		printf '%-24s %s\n' "node $NODE_NAME" "Ready=${ready:-unknown}"
		[ "$ready" = True ] || ok=1
	else
		printf '%-24s %s\n' "node $NODE_NAME" "unknown (kube-apiserver not running)"
	fi
	nodes_status || ok=1
	return $ok
}

# remember_image ARCHIVE: extra nodes made or started later import it too
# (pods may land on any node, and there is no registry to pull from).
remember_image() {
	local f=$LC_VAR/loaded-images a
	a=$(realpath "$1")
	grep -qxF "$a" "$f" 2>/dev/null || echo "$a" >>"$f"
}

cluster_kubeconfig() {
	[ -f "$ADMIN_KUBECONFIG" ] || die "no kubeconfig yet: run hack/local-cluster.sh up"
	echo "$ADMIN_KUBECONFIG"
}

# cluster_load_image ARCHIVE...: docker or OCI archives into the node's
# containerd, where pods find them (imagePullPolicy IfNotPresent or Never).
cluster_load_image() {
	need_root
	[ $# -gt 0 ] || die "usage: load-image ARCHIVE.tar..."
	proc_pid containerd >/dev/null || die "containerd is not running: run hack/local-cluster.sh up first"
	local a
	for a in "$@"; do
		[ -f "$a" ] || die "$a: no such file"
		import_image "$a"
		nodes_load_image "$a"
		remember_image "$a"
		say "loaded $a: $(awk '/^unpacking/ {print $2}' "$LC_LOG/import.log" | tr '\n' ' ')"
	done
}
