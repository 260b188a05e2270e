#!/usr/bin/env bash
# Figures of the local cluster (hack/local-cluster.sh):
#   warm `up` (from down to node Ready, to pods creatable, to a first pod running),
#   a second (no-op) `up`, `down`, and the idle memory of the components.
# With --cold, first a set-up from nothing: empty Go module and build caches
# and an empty cluster folder (slow: ~10 min on 2 cores, ~6 GB of temp space).
# Leaves the cluster up.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LC=$REPO/hack/local-cluster.sh

# at LOGFILE PATTERN: the elapsed seconds printed on the first line matching PATTERN.
at() { grep -m1 -E "$2" "$1" | sed -E 's/^\[ *([0-9.]+)s\].*/\1/'; }
now() { echo "${EPOCHREALTIME/[.,]/}"; }
k() { "$REPO/.local-cluster/bin/kubectl" --kubeconfig "$("$LC" kubeconfig)" "$@"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", (b-a)/1e6}'; }

cold() {
	local tmp t0 t1
	tmp=$(mktemp -d /tmp/local-cluster-cold.XXXXXX)
	echo "== cold set-up: empty GOMODCACHE, GOCACHE and cluster folder under $tmp"
	"$LC" down >/dev/null
	t0=$(now)
	GOMODCACHE=$tmp/gomod GOCACHE=$tmp/gocache LOCAL_CLUSTER_DIR=$tmp/lc "$LC" up | tee "$tmp/up.log"
	t1=$(now)
	echo "cold up (download + build + images + start): $(secs "$t0" "$t1")s" | tee -a "$tmp/figures"
	du -sh "$tmp/gomod" "$tmp/gocache" "$tmp/lc/bin" "$tmp/lc/images" | sed 's/^/  disk: /'
	LOCAL_CLUSTER_DIR=$tmp/lc "$LC" purge --all >/dev/null
	GOMODCACHE=$tmp/gomod go clean -modcache
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

[ "${1:-}" = --cold ] && cold
warm
