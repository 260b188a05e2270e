# shellcheck shell=bash
# Configuration files of the components, rewritten on every `up` (cheap, and
# a changed setting takes effect with the next start of that component).

config_write() {
	[[ $MAX_PODS =~ ^[1-9][0-9]*$ ]] && ((MAX_PODS <= POD_ADDRESSES)) ||
		die "LOCAL_MAX_PODS=$MAX_PODS: want 1 to $POD_ADDRESSES, the pod addresses of $POD_CIDR"
	mkdir -p "$LC_ETC/cni"
	local c
	for c in admin controller-manager scheduler kubelet kube-proxy coredns provisioner; do
		kubeconfig "$c" | write_if_changed "$LC_ETC/$c.kubeconfig"
	done
	containerd_config | write_if_changed "$LC_ETC/containerd.toml"
	cni_config | write_if_changed "$LC_ETC/cni/10-local-cluster.conflist"
	kubelet_config | write_if_changed "$LC_ETC/kubelet.yaml"
	kube_proxy_config | write_if_changed "$LC_ETC/kube-proxy.yaml"
	corefile | write_if_changed "$LC_ETC/Corefile"
}

# write_if_changed FILE: stdin to FILE, atomically and only if different.
# Running components watch some of these (kube-proxy exits when its config
# file is touched), so a second `up` must leave identical files alone.
write_if_changed() {
	local tmp
	tmp=$(mktemp "$1.XXXXXX")
	cat >"$tmp"
	if cmp -s "$tmp" "$1"; then
		rm -f "$tmp"
	else
		chmod 600 "$tmp"
		mv -f "$tmp" "$1"
	fi
}

# kubeconfig CERT-NAME: certificates embedded, so the file can be copied.
kubeconfig() {
	cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local-cluster
  cluster:
    server: https://$NODE_IP:6443
    certificate-authority-data: $(base64 -w0 "$LC_PKI/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$LC_PKI/$1.crt")
    client-key-data: $(base64 -w0 "$LC_PKI/$1.key")
contexts:
- name: local-cluster
  context: {cluster: local-cluster, user: $1}
current-context: local-cluster
EOF
}

containerd_config() { containerd_config_for "$LC_VAR" "$LC_RUN" "$LC_ETC/cni"; }

# containerd_config_for VAR-DIR RUN-DIR CNI-CONF-DIR: a node's containerd.
containerd_config_for() {
	local var=$1 run=$2 cni=$3
	cat <<EOF
version = 2
root = "$var/containerd"
state = "$run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$run/containerd/containerd.sock"
[ttrpc]
  address = "$run/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$var/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  # Without CAP_SYS_RESOURCE (some VMs withhold it) runc cannot lower
  # oom_score_adj and every sandbox fails with "can't get final child's PID".
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "/usr/sbin/runc"
        Root = "$run/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$cni"
    max_conf_num = 1
EOF
}

# Pods get routes to the cluster's own ranges only: no default route, no masquerade.
cni_config() { cni_config_for "$POD_CIDR" "$POD_GW" "$NODE_IP/32" "$LC_VAR/cni-ipam"; }

# cni_config_for POD-RANGE GATEWAY NODE-ROUTE IPAM-DIR: a node's pod network.
cni_config_for() {
	cat <<EOF
{
  "cniVersion": "0.4.0",
  "name": "local-cluster",
  "plugins": [{
    "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "ranges": [[{"subnet": "$1", "gateway": "$2"}]],
      "routes": [{"dst": "$CLUSTER_CIDR"}, {"dst": "$SVC_CIDR"}, {"dst": "$3"}],
      "dataDir": "$4"
    }
  }]
}
EOF
}

kubelet_config() {
	kubelet_config_for "$NODE_IP" "$LC_RUN/containerd/containerd.sock" "$LC_VAR/log/pods" \
		"$LC_VAR/kubelet-plugins" "$LC_PKI/kubelet-serving"
}

# kubelet_config_for ADDRESS CRI-SOCKET POD-LOGS-DIR PLUGIN-DIR SERVING-CERT [CGROUP-ROOT]
# (SERVING-CERT without .crt/.key). Two kubelets on one cgroup hierarchy need
# distinct cgroup roots, or each would take the other's pods for orphans.
kubelet_config_for() {
	cat <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
containerRuntimeEndpoint: unix://$2
cgroupDriver: cgroupfs
oomScoreAdj: 0 # -999 needs CAP_SYS_RESOURCE, which some VMs withhold
failSwapOn: false
podLogsDir: $3
volumePluginDir: $4 # default is under /usr/libexec
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $LC_PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $5.crt
tlsPrivateKeyFile: $5.key
clusterDomain: cluster.local
clusterDNS: [$DNS_SVC_IP]
resolvConf: "" # pods get cluster DNS only, never the host's resolvers
# Images are loaded locally and cannot be pulled again: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# A developer's nearly full disk must not evict the database pods.
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
serializeImagePulls: false
syncFrequency: 10s
nodeStatusUpdateFrequency: 4s
maxPods: $MAX_PODS
configMapAndSecretChangeDetectionStrategy: Watch
EOF
	[ -z "${6:-}" ] || echo "cgroupRoot: $6"
}

kube_proxy_config() { kube_proxy_config_for "$NODE_NAME" "$NODE_IP"; }

# kube_proxy_config_for NODE-NAME NODE-ADDRESS
kube_proxy_config_for() {
	cat <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $LC_ETC/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $CLUSTER_CIDR
hostnameOverride: $1
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$2/32"]
iptables: {localhostNodePorts: false}
# Zeros leave the host's conntrack sysctls as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
oomScoreAdj: 0
EOF
}

# CoreDNS answers for the cluster domain only; with no forward plugin it
# never queries a resolver outside this machine.
corefile() {
	cat <<EOF
.:$DNS_PORT {
    bind $NODE_IP
    errors
    ready 127.0.0.1:10253
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $LC_ETC/coredns.kubeconfig local-cluster
        pods insecure
        ttl 5
    }
    cache 5
    loadbalance
}
EOF
}
