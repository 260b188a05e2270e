#!/usr/bin/env bash
# Figures of the local cluster (hack/local-cluster.sh), the README's first
# Figures table:
#   warm `up` (from down to node Ready, to pods creatable, to a first pod running),
#   a second (no-op) `up`, `down`, and the idle memory of the components.
# With --clean, first `up` in an empty cluster folder with the Go caches as
# they are: a clean checkout, as CI starts (~35 s on 2 cores).
# With --cold, first a set-up from nothing: empty Go module and build caches
# and an empty cluster folder (slow: ~10 min on 2 cores, ~6 GB of temp space);
# apt packages are installed (and timed) only if the machine lacks them.
# Leaves the cluster up.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LC=$REPO/hack/local-cluster.sh

# at LOGFILE PATTERN: the elapsed seconds printed on the first line matching PATTERN.
at() { grep -m1 -E "$2" "$1" | sed -E 's/^\[ *([0-9.]+)s\].*/\1/'; }
now() { echo "${EPOCHREALTIME/[.,]/}"; }
k() { "$REPO/.local-cluster/bin/kubectl" --kubeconfig "$("$LC" kubeconfig)" "$@"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", (b-a)/1e6}'; }

# span LOGFILE FROM TO: seconds between the first lines matching FROM and TO.
span() {
	local a b
	a=$(at "$1" "$2") || true
	b=$(at "$1" "$3") || true
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo "-"
		return
	fi
	awk -v a="$a" -v b="$b" 'BEGIN{printf "%.1f", b-a}'
}

# fresh_up LABEL [cold]: `up` in an empty cluster folder, as from a clean
# checkout; with cold, also with empty Go module and build caches. Prints
# the total and the steps that make it up, then deletes what it built.
fresh_up() {
	local label=$1 cold=${2:-} tmp t0 t1 vars
	tmp=$(mktemp -d /tmp/local-cluster-fresh.XXXXXX)
	vars=("LOCAL_CLUSTER_DIR=$tmp/lc")
	if [ "$cold" = cold ]; then
		vars+=("GOMODCACHE=$tmp/gomod" "GOCACHE=$tmp/gocache")
	fi
	echo "== $label: ${vars[*]}"
	"$LC" down >/dev/null
	t0=$(now)
	env "${vars[@]}" "$LC" up | tee "$tmp/up.log"
	t1=$(now)
	{
		echo "$label up (download + build + images + start): $(secs "$t0" "$t1")s"
		echo "  of which building Kubernetes, etcd, CoreDNS and helpers: $(span "$tmp/up.log" 'building Kubernetes' 'binaries built')s"
		if grep -qE '^\[ *[0-9.]+s\] installing ' "$tmp/up.log"; then
			echo "  of which installing apt packages: $(span "$tmp/up.log" '^\[ *[0-9.]+s\] installing ' 'packages installed')s"
		else
			echo "  apt packages: already installed, not in the total"
		fi
	} >"$tmp/figures"
	if [ "$cold" = cold ]; then
		du -sh "$tmp/gomod" "$tmp/gocache" "$tmp/lc/bin" "$tmp/lc/images" | sed 's/^/  disk: /' >>"$tmp/figures"
	fi
	env "${vars[@]}" "$LC" purge --all >/dev/null
	if [ "$cold" = cold ]; then
		GOMODCACHE=$tmp/gomod go clean -modcache
	fi
	cat "$tmp/figures"
	rm -rf "$tmp"
}

warm() {
	local log t0 t1
	log=$(mktemp /tmp/local-cluster-up.XXXXXX)
	"$LC" up >/dev/null # builds whatever is missing, not measured
	t0=$(now)
	"$LC" down >/dev/null
	t1=$(now)
	local down_s
	down_s=$(secs "$t0" "$t1")

	"$LC" up | tee "$log"
	local ready creatable total
	ready=$(at "$log" 'node .* Ready$')
	creatable=$(at "$log" 'pods can be created')
	total=$(at "$log" 'cluster up')

	# First pod after up: sandbox + network + a container, as tests will see it.
	local pod_s
	t0=$(now)
	k run figures-pause --image=localhost/pause:3.10 --image-pull-policy=Never --restart=Never >/dev/null
	k wait --for=condition=Ready pod/figures-pause --timeout=60s >/dev/null
	t1=$(now)
	pod_s=$(secs "$t0" "$t1")
	k delete pod figures-pause --wait=true >/dev/null

	t0=$(now)
	"$LC" up >/dev/null
	t1=$(now)
	local again_s
	again_s=$(secs "$t0" "$t1")

	sleep 20 # let start-up work settle before measuring idle memory
	echo "== warm figures"
	echo "up (from down): node Ready ${ready}s, pods creatable ${creatable}s, all ready ${total}s"
	echo "first pod Ready after up: ${pod_s}s"
	echo "second up (already running): ${again_s}s"
	echo "down: ${down_s}s"
	memory
	rm -f "$log"
}

# memory: resident set of each component, from its PID file.
memory() {
	local c pid kb total=0
	echo "idle memory (RSS):"
	for c in etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns provisioner; do
		read -r pid _ <"$REPO/.local-cluster/run/$c.pid"
		kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
		total=$((total + kb))
		printf '  %-24s %5d MiB\n' "$c" $((kb / 1024))
	done
	printf '  %-24s %5d MiB\n' total $((total / 1024))
}

for arg in "$@"; do
	case $arg in
	--cold) fresh_up "cold set-up (empty Go caches and cluster folder)" cold ;;
	--clean) fresh_up "clean checkout (empty cluster folder, Go caches as they are)" ;;
	*)
		echo "usage: $0 [--cold] [--clean]" >&2
		exit 2
		;;
	esac
done
warm
