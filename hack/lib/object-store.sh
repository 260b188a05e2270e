# shellcheck shell=bash
# An S3-compatible object store in the local cluster, for pgBackRest's
# backups: versitygw (Apache-2.0) with its POSIX backend on a volume of the
# default StorageClass, TLS from the cluster's CA, one root account, one
# bucket. Used by hack/object-store.sh; needs cluster-env.sh and
# cluster-build.sh (gobuild, inputs_digest).

OS_NS=object-store
OS_VERSION=v1.8.0
OS_PKG=github.com/versity/versitygw/cmd/versitygw
OS_IMAGE=localhost/versitygw:$OS_VERSION
OS_ARCHIVE=$LC_IMAGES/versitygw.tar
OS_PKI=$LC_PKI/object-store # deleted with the CA (purge, certificate regeneration): both come back together
OS_HOST=s3.$OS_NS.svc       # the name clients use; pgBackRest checks it against the certificate
# A fixed ClusterIP from the range's static band (the first 256 addresses, which
# dynamic allocation leaves alone): the address host-side clients connect to
# outlives a down of the store, and can be named in the certificate (below).
OS_SVC_IP=${SVC_CIDR%.0/*}.43
OS_PORT=7070 # in the container: non-root cannot bind 443
OS_BUCKET=backups
OS_REGION=us-east-1
OS_APP=versitygw
OS_LABEL=app.kubernetes.io/name=$OS_APP
# sha256 of an empty body: curl 7.88 signs requests but does not hash the payload itself.
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

os_require_cluster() {
	[ -f "$ADMIN_KUBECONFIG" ] && kctl get --raw /readyz --request-timeout=5s >/dev/null 2>&1 ||
		die "the local cluster is not up: run hack/local-cluster.sh up (or make local-up)"
}

# os_build_binary: a static versitygw from the Go module proxy, once per
# version and Go release (go install pkg@version ignores every go.mod here).
os_build_binary() {
	local stamp=$LC_BIN/.versitygw.stamp want
	want="$OS_VERSION $(go env GOVERSION)"
	[ -x "$LC_BIN/versitygw" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
	deps_check_go
	say "building versitygw $OS_VERSION (~1 min on 2 cores from empty Go caches; log: $LC_LOG/versitygw-build.log)"
	GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN=$LC_BIN go install -trimpath \
		-ldflags "-s -w -X main.Version=$OS_VERSION" "$OS_PKG@$OS_VERSION" >"$LC_LOG/versitygw-build.log" 2>&1 ||
		die "building versitygw failed, see $LC_LOG/versitygw-build.log"
	echo "$want" >"$stamp"
}

# os_build_image: the binary alone in an image (hack/images pack-binary,
# uid 65532), rebuilt when the binary or the image tool changes.
os_build_image() {
	local stamp=$LC_IMAGES/.versitygw.stamp want
	want=$(inputs_digest "$IMAGES_MOD" "$(cksum <"$LC_BIN/versitygw")")
	[ -f "$OS_ARCHIVE" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
	mkdir -p "$LC_IMAGES"
	(cd "$IMAGES_MOD" && CGO_ENABLED=0 gobuild run . pack-binary --binary "$LC_BIN/versitygw" \
		--tag "$OS_IMAGE" --out "$OS_ARCHIVE") >"$LC_LOG/versitygw-image.log" 2>&1 ||
		die "packing the versitygw image failed, see $LC_LOG/versitygw-image.log"
	echo "$want" >"$stamp"
	say "image built: $OS_IMAGE"
}

# os_load_image: into the node once per archive, recorded next to the
# built-in images' records (purge deletes them with containerd's root).
os_load_image() {
	local rec=$LC_VAR/images-imported/versitygw sum
	sum=$(cksum <"$OS_ARCHIVE")
	[ "$(cat "$rec" 2>/dev/null)" = "$sum" ] && return 0
	"$REPO_ROOT/hack/local-cluster.sh" load-image "$OS_ARCHIVE" >/dev/null
	mkdir -p "${rec%/*}"
	echo "$sum" >"$rec"
	say "imported $OS_IMAGE"
}

# os_certs: the server certificate (ECDSA, signed by the cluster CA) and the
# root account's keys. Regenerated when the CA no longer vouches for the
# certificate or the names change. The certificate carries the fixed ClusterIP
# twice: as an IP SAN for ordinary clients, and as a DNS SAN for pgBackRest,
# which, given repo1-storage-host, checks the certificate against that host
# instead of the endpoint, and compares only DNS SANs (2.45).
os_certs() {
	local sans="DNS:$OS_HOST,DNS:$OS_HOST.cluster.local,DNS:s3.$OS_NS,DNS:s3,DNS:$OS_SVC_IP,IP:$OS_SVC_IP"
	mkdir -p -m 700 "$OS_PKI"
	if [ "$(cat "$OS_PKI/stamp" 2>/dev/null)" != "$sans" ] ||
		! openssl verify -CAfile "$LC_PKI/ca.crt" "$OS_PKI/tls.crt" >/dev/null 2>&1; then
		(
			umask 077
			cd "$OS_PKI" || exit 1
			openssl ecparam -name prime256v1 -genkey -noout -out tls.key 2>/dev/null &&
				openssl req -new -key tls.key -out tls.csr -subj "/CN=$OS_HOST" 2>/dev/null &&
				openssl x509 -req -in tls.csr -CA "$LC_PKI/ca.crt" -CAkey "$LC_PKI/ca.key" -CAserial ca.srl -CAcreateserial \
					-days 3650 -out tls.crt -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
						"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" "subjectAltName=$sans") 2>/dev/null &&
				rm -f tls.csr
		) || die "object store certificate generation failed"
		echo "$sans" >"$OS_PKI/stamp"
		say "object store certificate generated"
	fi
	# The keys are files without a newline: kubectl --from-file copies them verbatim.
	if [ ! -s "$OS_PKI/access-key" ] || [ ! -s "$OS_PKI/secret-key" ]; then
		(
			umask 077
			printf 'LC%s' "$(openssl rand -hex 9 | tr a-f A-F)" >"$OS_PKI/access-key"
			printf '%s' "$(openssl rand -hex 20)" >"$OS_PKI/secret-key"
		)
		say "object store keys generated"
	fi
}

os_access_key() { cat "$OS_PKI/access-key"; }
os_secret_key() { cat "$OS_PKI/secret-key"; }

# os_apply: server-side apply with our own field manager, so a second `up`
# changes only what changed.
os_apply() {
	kctl apply --server-side --force-conflicts --field-manager=object-store -f - >>"$LC_LOG/object-store.log" 2>&1 ||
		die "applying object store objects failed, see $LC_LOG/object-store.log"
}

# os_secret NAMESPACE NAME KEY=FILE...: a Secret from files (never from
# the command line, where other users would see the values).
os_secret() {
	local ns=$1 name=$2 args=() kv
	shift 2
	for kv in "$@"; do args+=(--from-file="$kv"); done
	kctl -n "$ns" create secret generic "$name" "${args[@]}" --dry-run=client -o yaml |
		kctl label --local -f - -o yaml app.kubernetes.io/part-of=object-store | os_apply
}

# os_client_secrets NAMESPACE: what a PostgresCluster in NAMESPACE needs.
os_client_secrets() {
	kctl get namespace "$1" >/dev/null 2>&1 || die "namespace $1 does not exist"
	os_secret "$1" s3-creds ACCESS_KEY_ID="$OS_PKI/access-key" ACCESS_SECRET_KEY="$OS_PKI/secret-key"
	os_secret "$1" s3-ca ca.crt="$LC_PKI/ca.crt"
}

os_manifest() {
	# Changing certificate, keys or image restarts the pod: it reads them at start.
	local config
	config=$(cat "$OS_PKI/tls.crt" "$OS_PKI/access-key" "$OS_PKI/secret-key" "$OS_ARCHIVE" | sha256sum | cut -c1-16)
	cat <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: $OS_NS}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Gi}} # room for several backups of a 1 GB database; hostpath does not enforce it
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: versitygw, namespace: $OS_NS, labels: {app.kubernetes.io/name: $OS_APP}}
spec:
  replicas: 1
  strategy: {type: Recreate} # one gateway on the volume at a time
  selector: {matchLabels: {app.kubernetes.io/name: $OS_APP}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: $OS_APP}
      annotations: {object-store/config: "$config"}
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: 10
      # fsGroup makes the new volume writable; OnRootMismatch spares a
      # recursive chown of every object at each start.
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        fsGroup: 65532
        fsGroupChangePolicy: OnRootMismatch
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: versitygw
        image: $OS_IMAGE
        imagePullPolicy: Never
        # Single account mode: the root keys come from the Secret's env
        # (ROOT_ACCESS_KEY, ROOT_SECRET_KEY). The posix backend keeps object
        # metadata (ETag, checksums, content type) in user.* xattrs.
        args: [--port, ":$OS_PORT", --cert, /tls/tls.crt, --key, /tls/tls.key, --region, $OS_REGION, posix, /data]
        envFrom: [{secretRef: {name: versitygw-root}}]
        ports: [{name: https, containerPort: $OS_PORT}]
        readinessProbe: {tcpSocket: {port: https}, periodSeconds: 2}
        resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 512Mi}}
        securityContext:
          readOnlyRootFilesystem: true
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
        volumeMounts:
        - {name: data, mountPath: /data}
        - {name: tls, mountPath: /tls, readOnly: true}
        - {name: tmp, mountPath: /tmp}
      volumes:
      - {name: data, persistentVolumeClaim: {claimName: data}}
      - {name: tls, secret: {secretName: s3-tls}}
      - {name: tmp, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata: {name: s3, namespace: $OS_NS}
spec:
  clusterIP: $OS_SVC_IP
  selector: {app.kubernetes.io/name: $OS_APP}
  ports: [{name: https, port: 443, targetPort: https}]
EOF
}

# os_curl ARGS...: an S3 request to the Service from the host, signed with
# the root keys (handed to curl on stdin, not the command line). --resolve
# keeps the real name for TLS; --noproxy keeps the request on this host.
os_curl() {
	printf 'user = "%s:%s"\n' "$(os_access_key)" "$(os_secret_key)" |
		curl -sS -K - --noproxy '*' --connect-timeout 2 --max-time 5 --aws-sigv4 "aws:amz:$OS_REGION:s3" \
			--resolve "$OS_HOST:443:$OS_SVC_IP" --cacert "$LC_PKI/ca.crt" \
			-H "x-amz-content-sha256: $EMPTY_SHA256" "$@"
}

# os_bucket_status: HTTP status of HEAD on the bucket (000: no answer).
os_bucket_status() { os_curl -o /dev/null -w '%{http_code}' -I "https://$OS_HOST/$OS_BUCKET" 2>/dev/null || true; }

# os_answers: the gateway answers S3 requests through the Service.
os_answers() { [[ $(os_bucket_status) =~ ^(200|404)$ ]]; }

# os_ensure_bucket: a real CreateBucket, so versitygw records owner and ACL
# (a bare directory would serve too, without them).
os_ensure_bucket() {
	local st out
	st=$(os_bucket_status)
	[ "$st" = 200 ] && return 0
	[ "$st" = 404 ] || die "HEAD on bucket $OS_BUCKET answered $st"
	out=$(os_curl -X PUT -w '\n%{http_code}' "https://$OS_HOST/$OS_BUCKET") || die "creating bucket $OS_BUCKET failed: $out"
	[ "${out##*$'\n'}" = 200 ] || die "creating bucket $OS_BUCKET answered: $out"
	say "bucket $OS_BUCKET created"
}

# os_smoke: pgBackRest on the host writes, lists and reads back a file in
# the bucket (repo path /smoke) over the Service, verifying the certificate.
os_smoke() {
	local tmp rc=0 want got
	tmp=$(mktemp -d) # 0700: the config file holds the secret key
	os_pgbackrest_conf >"$tmp/pgbackrest.conf"
	want="smoke test $(date -u +%FT%TZ)"
	{
		printf '%s\n' "$want" | os_pgbackrest "$tmp" repo-put smoke.txt &&
			got=$(os_pgbackrest "$tmp" repo-get smoke.txt) && [ "$got" = "$want" ] &&
			os_pgbackrest "$tmp" repo-ls | grep -qx smoke.txt
	} >"$LC_LOG/object-store-smoke.log" 2>&1 || rc=$?
	rm -rf "$tmp"
	[ $rc -eq 0 ] || die "pgBackRest smoke test failed (exit $rc), see $LC_LOG/object-store-smoke.log"
	say "pgBackRest from the host: repo-put, repo-get, repo-ls in s3://$OS_BUCKET/smoke work"
}

os_pgbackrest() {
	local dir=$1
	shift
	timeout 90 pgbackrest --config="$dir/pgbackrest.conf" --stanza=smoke "$@"
}

# os_pgbackrest_conf: a host-side pgBackRest configuration for the store
# (the repo-* commands take no lock; no log file).
os_pgbackrest_conf() {
	cat <<EOF
[global]
repo1-type=s3
repo1-s3-endpoint=$OS_HOST
repo1-storage-host=$OS_SVC_IP
repo1-storage-port=443
repo1-storage-ca-file=$LC_PKI/ca.crt
repo1-s3-uri-style=path
repo1-s3-region=$OS_REGION
repo1-s3-bucket=$OS_BUCKET
repo1-s3-key=$(os_access_key)
repo1-s3-key-secret=$(os_secret_key)
repo1-path=/smoke
log-level-file=off
log-level-console=warn
EOF
}

os_up() {
	os_require_cluster
	command -v pgbackrest >/dev/null || die "pgbackrest is not installed: run hack/local-cluster.sh up (it installs the packages)"
	os_build_binary
	os_build_image
	os_load_image
	os_certs
	: >"$LC_LOG/object-store.log"
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$OS_NS" | os_apply
	kctl -n "$OS_NS" create secret tls s3-tls --cert="$OS_PKI/tls.crt" --key="$OS_PKI/tls.key" --dry-run=client -o yaml | os_apply
	os_secret "$OS_NS" versitygw-root ROOT_ACCESS_KEY="$OS_PKI/access-key" ROOT_SECRET_KEY="$OS_PKI/secret-key"
	os_manifest | os_apply
	os_wait_ready
	os_ensure_bucket
	os_client_secrets default
	os_smoke
	say "object store up: https://$OS_HOST (ClusterIP $OS_SVC_IP), bucket $OS_BUCKET, region $OS_REGION, path-style"
	say "Secrets s3-creds and s3-ca are in namespace default; for another: hack/object-store.sh secrets NAMESPACE"
}

# os_wait_ready: the rollout is done and S3 requests get answers through the
# Service (kube-proxy may program the new endpoint a moment after Ready).
os_wait_ready() {
	kctl -n "$OS_NS" rollout status deployment/versitygw --timeout=120s >>"$LC_LOG/object-store.log" 2>&1 ||
		die "versitygw did not become ready: $(kctl -n "$OS_NS" get pods -l "$OS_LABEL" --no-headers 2>&1 | head -3)"
	wait_for "object store answers at https://$OS_HOST ($OS_SVC_IP)" 30 os_answers
}

os_down() {
	os_require_cluster
	local pv
	pv=$(kctl -n "$OS_NS" get pvc data -o jsonpath='{.spec.volumeName}' 2>/dev/null || true)
	# Gateway, then claim, then namespace: left to the namespace controller,
	# the claim waits for the pod in back-off retries (16 s instead of 7).
	kctl -n "$OS_NS" delete deployment versitygw --ignore-not-found >/dev/null
	wait_for "versitygw stopped" 60 os_no_pods
	kctl -n "$OS_NS" delete pvc data --ignore-not-found --timeout=60s >/dev/null
	# The provisioner deletes the volume's directory with the PersistentVolume.
	[ -z "$pv" ] || wait_for "volume $pv deleted" 60 os_pv_gone "$pv"
	kctl delete namespace "$OS_NS" --ignore-not-found --timeout=120s >/dev/null ||
		die "namespace $OS_NS was not deleted within 120 s"
	say "object store removed (Secrets s3-creds and s3-ca in other namespaces stay; the keys stay in $OS_PKI)"
}

os_pv_gone() { ! kctl get pv "$1" >/dev/null 2>&1; }

os_require_store() {
	os_require_cluster
	kctl -n "$OS_NS" get deployment versitygw >/dev/null 2>&1 || die "no object store: run hack/object-store.sh up"
}

os_stop() {
	os_require_store
	kctl -n "$OS_NS" scale deployment/versitygw --replicas=0 >/dev/null
	wait_for "versitygw stopped" 60 os_no_pods
}

os_no_pods() { [ -z "$(kctl -n "$OS_NS" get pods -l "$OS_LABEL" -o name 2>/dev/null)" ]; }

os_start() {
	os_require_store
	kctl -n "$OS_NS" scale deployment/versitygw --replicas=1 >/dev/null
	os_wait_ready
}

# os_env [--pgbackrest]: shell exports for a client on the host.
os_env() {
	[ -s "$OS_PKI/secret-key" ] || die "no object store keys yet: run hack/object-store.sh up"
	if [ "${1:-}" = --pgbackrest ]; then
		printf 'export %s=%q\n' \
			PGBACKREST_REPO1_TYPE s3 \
			PGBACKREST_REPO1_S3_ENDPOINT "$OS_HOST" \
			PGBACKREST_REPO1_STORAGE_HOST "$OS_SVC_IP" \
			PGBACKREST_REPO1_STORAGE_PORT 443 \
			PGBACKREST_REPO1_STORAGE_CA_FILE "$LC_PKI/ca.crt" \
			PGBACKREST_REPO1_S3_URI_STYLE path \
			PGBACKREST_REPO1_S3_REGION "$OS_REGION" \
			PGBACKREST_REPO1_S3_BUCKET "$OS_BUCKET" \
			PGBACKREST_REPO1_S3_KEY "$(os_access_key)" \
			PGBACKREST_REPO1_S3_KEY_SECRET "$(os_secret_key)"
		return
	fi
	printf 'export %s=%q\n' \
		S3_ENDPOINT "$OS_HOST" \
		S3_URL "https://$OS_HOST" \
		S3_HOST "$OS_SVC_IP" \
		S3_PORT 443 \
		S3_CA_FILE "$LC_PKI/ca.crt" \
		S3_ACCESS_KEY "$(os_access_key)" \
		S3_SECRET_KEY "$(os_secret_key)" \
		S3_BUCKET "$OS_BUCKET" \
		S3_REGION "$OS_REGION" \
		S3_URI_STYLE path
}
