# shellcheck shell=bash
# How each component is started, and the ports it needs free.
# Everything listens on 127.0.0.1 or on the node address, never on 0.0.0.0.

# ports_of NAME: "proto:address:port" a component binds.
ports_of() {
	case $1 in
	etcd) echo "tcp:127.0.0.1:2379 tcp:127.0.0.1:2380 tcp:127.0.0.1:2381" ;;
	kube-apiserver) echo "tcp:$NODE_IP:6443" ;;
	kube-controller-manager) echo "tcp:127.0.0.1:10257" ;;
	kube-scheduler) echo "tcp:127.0.0.1:10259" ;;
	kubelet) echo "tcp:$NODE_IP:10250 tcp:127.0.0.1:10248" ;;
	kube-proxy) echo "tcp:127.0.0.1:10249 tcp:127.0.0.1:10256" ;;
	coredns) echo "udp:$NODE_IP:$DNS_PORT tcp:$NODE_IP:$DNS_PORT tcp:127.0.0.1:10253" ;;
	esac
}

# ports_check NAME...: fail early, naming the holder, if a port is taken
# (by anything on that address or on the wildcard address).
ports_check() {
	local name spec proto addr port holder
	for name in "$@"; do
		proc_pid "$name" >/dev/null && continue
		for spec in $(ports_of "$name"); do
			IFS=: read -r proto addr port <<<"$spec"
			holder=$(ss -Hnlp -"${proto:0:1}" "sport = :$port" 2>/dev/null |
				awk -v a="$addr:$port" '$4 == a || $4 ~ /^(0\.0\.0\.0|\*|\[::\]):/' | head -1)
			[ -z "$holder" ] || die "port $port ($proto, needed by $name on $addr) is taken: $holder"
		done
	done
}

start_etcd() {
	start_proc etcd "$LC_BIN/etcd" --name local-cluster --data-dir "$LC_VAR/etcd" \
		--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster local-cluster=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
		--quota-backend-bytes 2147483648 --log-level warn
}

# Pulls go to a closed local port posing as proxy: an image that was not loaded
# fails at once with ErrImagePull, and no registry name is even looked up.
# (containerd 1.6 has no catch-all registry mirror; the proxy covers every registry.)
# start_containerd [NAME CONFIG]: the first node's, or NAME's (an extra node).
start_containerd() {
	mkdir -p "$LC_RUN/containerd"
	(
		export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=localhost
		unset http_proxy https_proxy no_proxy
		start_proc "${1:-containerd}" /usr/bin/containerd --config "${2:-$LC_ETC/containerd.toml}"
	)
}

start_kube_apiserver() {
	start_proc kube-apiserver "$LC_BIN/kube-apiserver" \
		--etcd-servers=http://127.0.0.1:2379 \
		--bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=6443 \
		--cert-dir="$LC_RUN/apiserver" \
		--service-cluster-ip-range="$SVC_CIDR" \
		--tls-cert-file="$LC_PKI/apiserver.crt" --tls-private-key-file="$LC_PKI/apiserver.key" \
		--client-ca-file="$LC_PKI/ca.crt" \
		--kubelet-client-certificate="$LC_PKI/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$LC_PKI/apiserver-kubelet-client.key" \
		--kubelet-preferred-address-types=InternalIP \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$LC_PKI/sa.pub" --service-account-signing-key-file="$LC_PKI/sa.key" \
		--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
		--requestheader-client-ca-file="$LC_PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
		--requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
		--requestheader-extra-headers-prefix=X-Remote-Extra- \
		--proxy-client-cert-file="$LC_PKI/front-proxy-client.crt" --proxy-client-key-file="$LC_PKI/front-proxy-client.key" \
		--enable-aggregator-routing=true \
		--allow-privileged=true --profiling=false --v=1
}

start_kube_controller_manager() {
	local kc=$LC_ETC/controller-manager.kubeconfig
	start_proc kube-controller-manager "$LC_BIN/kube-controller-manager" \
		--kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
		--bind-address=127.0.0.1 --leader-elect=false \
		--allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24 \
		--service-cluster-ip-range="$SVC_CIDR" \
		--cluster-signing-cert-file="$LC_PKI/ca.crt" --cluster-signing-key-file="$LC_PKI/ca.key" \
		--root-ca-file="$LC_PKI/ca.crt" --service-account-private-key-file="$LC_PKI/sa.key" \
		--use-service-account-credentials=true --profiling=false --v=1
}

start_kube_scheduler() {
	local kc=$LC_ETC/scheduler.kubeconfig
	start_proc kube-scheduler "$LC_BIN/kube-scheduler" \
		--kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
		--bind-address=127.0.0.1 --leader-elect=false --profiling=false --v=1
}

start_kubelet() {
	start_proc kubelet "$LC_BIN/kubelet" --config="$LC_ETC/kubelet.yaml" \
		--kubeconfig="$LC_ETC/kubelet.kubeconfig" --root-dir="$LC_VAR/kubelet" \
		--cert-dir="$LC_VAR/kubelet/pki" --node-ip="$NODE_IP" --hostname-override="$NODE_NAME" --v=1
}

start_kube_proxy() {
	start_proc kube-proxy "$LC_BIN/kube-proxy" --config="$LC_ETC/kube-proxy.yaml" --v=1
}

start_coredns() {
	start_proc coredns "$LC_BIN/coredns" -conf "$LC_ETC/Corefile"
}

start_provisioner() {
	start_proc provisioner "$LC_BIN/hostpath-provisioner" --kubeconfig="$LC_ETC/provisioner.kubeconfig" \
		--name="$PROVISIONER_NAME" --root="$LC_VAR/volumes" --node="$NODE_NAME"
}
