# shellcheck shell=bash
# The cluster's PKI: one CA, a serving certificate each for the apiserver and
# kubelet, a client certificate per component, the service-account key.
# ECDSA P-256 keys: generated in milliseconds, accepted everywhere in Kubernetes.
# Regenerated when the node's name or addresses change (they are in the SANs).

certs_ensure() {
	local want have=
	want=$(printf '%s %s %s v2' "$NODE_NAME" "$NODE_IP" "$SVC_API_IP")
	[ -f "$LC_PKI/stamp" ] && have=$(cat "$LC_PKI/stamp")
	[ "$want" = "$have" ] && [ -f "$LC_PKI/ca.crt" ] && return 0
	local c
	for c in "${COMPONENTS[@]}"; do
		proc_pid "$c" >/dev/null && die "certificates need regenerating (node settings changed): run down first"
	done
	rm -rf "$LC_PKI"
	mkdir -p "$LC_PKI"
	(
		umask 077
		cd "$LC_PKI" || exit 1
		newkey ca
		openssl req -x509 -new -key ca.key -out ca.crt -days 3650 -subj "/CN=local-cluster-ca" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		# The aggregation layer's CA: the apiserver proxies to extension API
		# servers with front-proxy-client, and kube-controller-manager and the
		# scheduler expect its CA to be published.
		newkey front-proxy-ca
		openssl req -x509 -new -key front-proxy-ca.key -out front-proxy-ca.crt -days 3650 -subj "/CN=local-cluster-front-proxy-ca" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		CA=front-proxy-ca signed front-proxy-client "/CN=front-proxy-client" clientAuth
		newkey sa
		openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null
		local api_sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
		api_sans+=",DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$NODE_IP,IP:$SVC_API_IP"
		signed apiserver "/CN=kube-apiserver" serverAuth "$api_sans"
		signed kubelet-serving "/CN=$NODE_NAME" serverAuth "DNS:$NODE_NAME,DNS:localhost,IP:127.0.0.1,IP:$NODE_IP"
		# Client identities; RBAC knows the system: ones, addons grant the rest.
		signed admin "/O=system:masters/CN=local-cluster-admin" clientAuth
		signed apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
		signed controller-manager "/CN=system:kube-controller-manager" clientAuth
		signed scheduler "/CN=system:kube-scheduler" clientAuth
		signed kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
		signed kube-proxy "/CN=system:kube-proxy" clientAuth
		signed coredns "/CN=local-cluster:coredns" clientAuth
		signed provisioner "/CN=local-cluster:provisioner" clientAuth
		rm -f ./*.csr ./*.srl
	) || die "certificate generation failed"
	echo "$want" >"$LC_PKI/stamp"
	say "certificates generated"
}

newkey() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; }

# signed NAME SUBJECT EXTENDED-USAGE [SANS]
signed() {
	local ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=$3"
	[ -n "${4:-}" ] && ext+="
subjectAltName=$4"
	newkey "$1"
	openssl req -new -key "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "${CA:-ca}.crt" -CAkey "${CA:-ca}.key" -CAcreateserial -days 3650 \
		-out "$1.crt" -extfile <(printf '%s\n' "$ext") 2>/dev/null
}
