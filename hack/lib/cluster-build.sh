# shellcheck shell=bash
# Binaries and images, rebuilt only when what they are made of changes: each
# output set has a stamp holding a digest of its inputs (module files, sources,
# Go version, and for the images the Debian package versions they copy).

CLUSTER_MOD=$REPO_ROOT/hack/cluster
IMAGES_MOD=$REPO_ROOT/hack/images
CLUSTER_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl etcd coredns hostpath-provisioner cri-reset)

# Builds run in their own modules, never in a workspace with the operator's,
# and carry no VCS stamp (the checkout's state must not change the binaries).
gobuild() { GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go "$@"; }

inputs_digest() { # DIR EXTRA: sources of a module plus anything else that matters
	local dir=$1 extra=$2 files
	mapfile -t files < <(find "$dir" -name '*.go' -o -name go.mod -o -name go.sum | LC_ALL=C sort)
	printf '%s %s %s\n' "$(hash_files "${files[@]}")" "$(go env GOVERSION CGO_ENABLED | tr '\n' ' ')" "$extra" |
		sha256sum | cut -c1-16
}

build_binaries() {
	local stamp=$LC_BIN/.stamp want b missing=
	want=$(inputs_digest "$CLUSTER_MOD" "$KUBE_VERSION")
	for b in "${CLUSTER_BINARIES[@]}"; do [ -x "$LC_BIN/$b" ] || missing=1; done
	if [ -z "$missing" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	deps_check_go
	say "building Kubernetes $KUBE_VERSION, etcd, CoreDNS and helpers (from empty Go caches ~7 min on 2 cores; log: $LC_LOG/build.log)"
	local ld="-s -w" p minor=${KUBE_VERSION#v1.}
	minor=${minor%%.*}
	# Without these the binaries report v0.0.0 and kubectl warns about skew.
	for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
		ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
	done
	mkdir -p "$LC_BIN"
	(cd "$CLUSTER_MOD" && gobuild build -trimpath -ldflags "$ld" -o "$LC_BIN/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet \
		k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl \
		./cmd/etcd ./cmd/coredns ./cmd/hostpath-provisioner ./cmd/cri-reset) >"$LC_LOG/build.log" 2>&1 ||
		die "build failed, see $LC_LOG/build.log"
	echo "$want" >"$stamp"
	say "binaries built"
}

build_images() {
	local stamp=$LC_IMAGES/.stamp want pkgs
	pkgs=$(dpkg-query -W -f='${Package}=${Version} ' postgresql-15 pgbackrest busybox-static libc6 2>/dev/null || true)
	want=$(inputs_digest "$IMAGES_MOD" "$pkgs")
	if [ -f "$LC_IMAGES/pause.tar" ] && [ -f "$LC_IMAGES/postgres.tar" ] &&
		[ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	deps_check_go
	mkdir -p "$LC_IMAGES"
	(
		cd "$IMAGES_MOD" &&
			CGO_ENABLED=0 gobuild build -trimpath -ldflags "-s -w" -o "$LC_BIN/pause" ./pause &&
			CGO_ENABLED=0 gobuild build -trimpath -o "$LC_BIN/images" . &&
			"$LC_BIN/images" pack-binary --binary "$LC_BIN/pause" --tag "$PAUSE_IMAGE" --uid 65535 --out "$LC_IMAGES/pause.tar" &&
			"$LC_BIN/images" postgres --tag "$POSTGRES_IMAGE" --out "$LC_IMAGES/postgres.tar"
	) >"$LC_LOG/images.log" 2>&1 || die "image build failed, see $LC_LOG/images.log"
	echo "$want" >"$stamp"
	say "images built: $PAUSE_IMAGE $POSTGRES_IMAGE"
}

# CTR_SOCKET, IMPORT_LOG and IMPORTED_DIR name the first node's containerd;
# an extra node's functions set them (as locals) to its own.
ctr_() { ctr --address "${CTR_SOCKET:-$LC_RUN/containerd/containerd.sock}" -n k8s.io "$@"; }

# import_image ARCHIVE: into containerd's k8s.io namespace (the one kubelet uses).
import_image() {
	local log=${IMPORT_LOG:-$LC_LOG/import.log}
	ctr_ images import "$1" >"$log" 2>&1 ||
		die "importing $1 failed: $(tail -1 "$log")"
}

# import_builtin_images: only archives that changed since their last import,
# which keeps a second `up` fast; purge forgets the record with the images.
import_builtin_images() {
	local a sum done_dir=${IMPORTED_DIR:-$LC_VAR/images-imported}
	mkdir -p "$done_dir"
	for a in pause postgres; do
		sum=$(cksum <"$LC_IMAGES/$a.tar")
		[ "$(cat "$done_dir/$a" 2>/dev/null)" = "$sum" ] && continue
		import_image "$LC_IMAGES/$a.tar"
		echo "$sum" >"$done_dir/$a"
		say "imported $a image"
	done
}
