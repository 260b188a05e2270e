# shellcheck shell=bash disable=SC2034 # the settings are used by the other cluster-*.sh
# Settings and small helpers shared by hack/local-cluster.sh and its parts.
# Every path lives under one git-ignored folder so a checkout owns its cluster.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LC_DIR=${LOCAL_CLUSTER_DIR:-$REPO_ROOT/.local-cluster}
LC_BIN=$LC_DIR/bin       # built binaries (kept by purge)
LC_IMAGES=$LC_DIR/images # image archives (kept by purge)
LC_PKI=$LC_DIR/pki
LC_ETC=$LC_DIR/etc
LC_VAR=$LC_DIR/var # etcd data, containerd root, kubelet root, volumes
LC_RUN=$LC_DIR/run # pid files, sockets, saved host settings
LC_LOG=$LC_DIR/log

# Pinned in hack/cluster/go.mod: v1.34.x, the last kubelet that accepts cgroup v1 by default.
KUBE_VERSION=$(awk '$1 == "k8s.io/kubernetes" {print $2; exit}' "$REPO_ROOT/hack/cluster/go.mod")
NODE_NAME=${LOCAL_CLUSTER_NODE:-local-node}
# The node address sits on lo: reachable only from this machine and its pods.
# kubelet refuses 127.x as a node address, hence a private /32.
NODE_IP=10.250.0.1
CLUSTER_CIDR=10.244.0.0/16
POD_CIDR=10.244.0.0/24 # the node's share; the controller-manager hands out the first /24
POD_GW=10.244.0.1
# Pods the kubelet admits (its maxPods; the kubelet's default is 110). Every
# pod takes an address of POD_CIDR, so a /24 bounds it at 253 (the network,
# gateway and broadcast addresses are not handed out). `make scale` needs
# ~250. A new value takes effect when the kubelet next starts (down, up).
MAX_PODS=${LOCAL_MAX_PODS:-250}
POD_ADDRESSES=$(((1 << (32 - ${POD_CIDR#*/})) - 3))
SVC_CIDR=10.96.0.0/16
SVC_API_IP=10.96.0.1
DNS_SVC_IP=10.96.0.10
DNS_PORT=1053 # CoreDNS on the host, behind the kube-dns Service: no clash with a host resolver on :53
BRIDGE=cni0
STORAGE_CLASS=standard
PROVISIONER_NAME=local-cluster.postgres-operator.dev/hostpath
PAUSE_IMAGE=localhost/pause:3.10
POSTGRES_IMAGE=localhost/postgres:15
ADMIN_KUBECONFIG=$LC_ETC/admin.kubeconfig

# Extra nodes (cluster-nodes.sh): node N (2, 3, ...) is $NODE_NAME-N at
# 10.250.0.N, in network namespace lc-nodeN. LOCAL_CLUSTER_NODES (make
# local-up NODES=N) sets how many nodes `up` makes.
NODE_NET=10.250.0.0/24 # the nodes' addresses; the first node's is NODE_IP
NODE_NS_PREFIX=lc-node # network namespace and host end of the veth: lc-node2, ...
NODES_MAX=20

# The processes of a cluster, in start order (status lists them so).
COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns provisioner)

export PATH=$LC_BIN:/usr/sbin:/sbin:$PATH

# Elapsed time from bash's own clock (no subprocess per progress line).
T0=${EPOCHREALTIME/[.,]/}
say() {
	local d=$((${EPOCHREALTIME/[.,]/} - T0))
	printf '[%4d.%ds] %s\n' $((d / 1000000)) $((d / 100000 % 10)) "$*"
}
die() {
	say "ERROR: $*" >&2
	exit 1
}
need_root() { [ "$(id -u)" = 0 ] || die "this needs root (network, mounts, containerd); run it with sudo"; }

kctl() { "$LC_BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# wait_for DESC SECONDS CMD...: poll every 0.1 s.
wait_for() {
	local desc=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			say "$desc"
			return 0
		fi
		sleep 0.1
	done
	die "timed out after ${secs}s waiting for: $desc (logs: $LC_LOG)"
}

# hash_files FILE...: one digest over names and contents, for rebuild stamps.
hash_files() {
	local f
	for f in "$@"; do
		printf '%s\n' "${f#"$REPO_ROOT"/}"
		cat "$f"
	done | sha256sum | cut -c1-16
}
