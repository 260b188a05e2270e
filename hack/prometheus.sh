#!/usr/bin/env bash
# A real Prometheus server on the host, built from its Go module
# (hack/tools/prometheus), that scrapes the operator and evaluates
# manifests/monitoring/rules.yaml. test/e2e/prometheus_test.go runs it.
#
#   hack/prometheus.sh build
#       only builds bin/tools/prometheus
#   hack/prometheus.sh start [--rules FILE] [--for DURATION] [--port PORT] TARGET...
#       scrapes each TARGET (host:port of an operator's /metrics, such as a
#       pod IP:8080) every second as job "postgres-operator", with
#       honor_labels (the metrics' own namespace label, as the rules expect),
#       evaluates FILE (default manifests/monitoring/rules.yaml) every second,
#       and listens on 127.0.0.1:PORT (default: the first free port from
#       19090). Once it is ready it prints, as shell assignments:
#         PROMETHEUS_PID=...  PROMETHEUS_URL=http://127.0.0.1:PORT  PROMETHEUS_DIR=...
#       --for DURATION runs a copy of the rules with every `for:` set to
#       DURATION (a test cannot wait the shipped 1m..30m); the shipped file
#       is not changed.
#   hack/prometheus.sh stop DIR
#       stops the server started in DIR (its PROMETHEUS_DIR) and removes DIR.
#
# Everything the server writes (config, rules copy, TSDB, log) is in DIR.
# The binary goes to bin/tools/ (PROMETHEUS_TOOLS_BIN overrides). Any
# failure, building the server included, is a non-zero exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mod=$root/hack/tools/prometheus
bin=${PROMETHEUS_TOOLS_BIN:-$root/bin/tools}

usage() {
	echo "usage: $0 build | start [--rules FILE] [--for DURATION] [--port PORT] TARGET... | stop DIR" >&2
	exit 2
}

build() {
	mkdir -p "$bin"
	# promtool (hack/check-monitoring.sh) checks the rules this server runs:
	# both must be the same Prometheus.
	local want have
	want=$(go -C "$root/hack/tools/promtool" list -mod=readonly -m -f '{{.Version}}' github.com/prometheus/prometheus)
	have=$(go -C "$mod" list -mod=readonly -m -f '{{.Version}}' github.com/prometheus/prometheus)
	if [ "$want" != "$have" ]; then
		echo "hack/tools/prometheus has Prometheus $have, hack/tools/promtool $want: make them equal" >&2
		exit 1
	fi
	# Static targets need no service discovery, most of the server's build:
	# remove_all_sd leaves it out (file and http SD stay). Without the
	# builtinassets tag the web UI is not embedded; the HTTP API is all the
	# tests use.
	go -C "$mod" build -mod=readonly -buildvcs=false -tags remove_all_sd -ldflags "-s -w" \
		-o "$bin/prometheus" github.com/prometheus/prometheus/cmd/prometheus
}

free_port() {
	local p
	for p in $(seq 19090 19190); do
		if ! (: >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "no free port in 19090-19190" >&2
	exit 1
}

start() {
	local rules=$root/manifests/monitoring/rules.yaml for= port= targets=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--rules) rules=$2; shift 2 ;;
		--for) for=$2; shift 2 ;;
		--port) port=$2; shift 2 ;;
		-*) usage ;;
		*)
			[[ $1 =~ ^[^:/[:space:]]+:[0-9]+$ ]] || { echo "target $1 is not host:port" >&2; exit 2; }
			targets+=("$1")
			shift
			;;
		esac
	done
	[ ${#targets[@]} -gt 0 ] || usage
	[[ -z $for || $for =~ ^[0-9]+[smhdwy]+$ ]] || { echo "--for $for is not a duration such as 5s" >&2; exit 2; }
	[ -f "$rules" ] || { echo "no rules file $rules" >&2; exit 1; }
	build
	port=${port:-$(free_port)}

	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/postgres-operator-prometheus.XXXXXX")
	if [ -n "$for" ]; then
		# Only the rules' own `for:` lines: "for: <duration>" alone on a line.
		local pattern='^([[:space:]]+)for:[[:space:]]*[0-9][0-9smhdwy]*[[:space:]]*$'
		sed -E "s/$pattern/\\1for: $for/" "$rules" >"$dir/rules.yaml"
		echo "rules: $(grep -cE "$pattern" "$rules") \`for:\` set to $for in a copy of $rules" >&2
	else
		cp "$rules" "$dir/rules.yaml"
	fi
	{
		echo "global:"
		echo "  scrape_interval: 1s"
		echo "  scrape_timeout: 1s"
		echo "  evaluation_interval: 1s"
		echo "rule_files: [rules.yaml]"
		echo "scrape_configs:"
		echo "  - job_name: postgres-operator"
		echo "    honor_labels: true"
		echo "    static_configs:"
		echo "      - targets:"
		printf '          - "%s"\n' "${targets[@]}"
	} >"$dir/prometheus.yml"

	# Its output goes to a file: whoever runs this script (a test reading
	# its stdout) must not wait for the server to exit.
	"$bin/prometheus" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--storage.tsdb.retention.time=1h --web.listen-address="127.0.0.1:$port" \
		</dev/null >"$dir/prometheus.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$dir/pid"
	local url=http://127.0.0.1:$port
	for _ in $(seq 1 300); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "prometheus exited; its log ($dir/prometheus.log):" >&2
			cat "$dir/prometheus.log" >&2
			rm -rf "$dir"
			exit 1
		fi
		if curl -fsS -o /dev/null "$url/-/ready" 2>/dev/null; then
			echo "PROMETHEUS_PID=$pid"
			echo "PROMETHEUS_URL=$url"
			echo "PROMETHEUS_DIR=$dir"
			return
		fi
		sleep 0.2
	done
	echo "prometheus (PID $pid) not ready at $url after 60s; log in $dir/prometheus.log" >&2
	exit 1
}

stop() {
	local dir=${1:-}
	[ -n "$dir" ] || usage
	[ -f "$dir/pid" ] || { echo "no server started in $dir" >&2; return; }
	local pid
	pid=$(cat "$dir/pid")
	# Only the process this script started there: its command line names
	# the directory's config (a PID may have been reused since).
	if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--config.file=$dir/prometheus.yml"; then
		kill -TERM "$pid"
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}

case "${1:-}" in
build) build ;;
start) shift; start "$@" ;;
stop) stop "${2:-}" ;;
*) usage ;;
esac
