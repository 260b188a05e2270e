#!/usr/bin/env bash
# Checks manifests/monitoring with Prometheus' own code, built from Go modules
# (hack/tools/promtool, a module of its own so Prometheus' requirements never
# move the operator's). manifests/monitoring/rules_test.go runs it.
#
#   hack/check-monitoring.sh               promtool check rules, then promtool test rules
#                                          (manifests/monitoring/rules_test.yml)
#   hack/check-monitoring.sh promql-names  reads a JSON array of PromQL expressions on
#                                          stdin and prints each one's metric names
#   hack/check-monitoring.sh build         only builds the tools
#
# The tools go to bin/tools/ (MONITORING_TOOLS_BIN overrides). Any failure,
# building the tools included, is a non-zero exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mod=$root/hack/tools/promtool
bin=${MONITORING_TOOLS_BIN:-$root/bin/tools}
mon=$root/manifests/monitoring

build() {
	mkdir -p "$bin"
	# Checking and unit-testing rules needs no service discovery, most of
	# promtool's build: remove_all_sd leaves it out (file and http SD stay).
	go -C "$mod" build -mod=readonly -buildvcs=false -tags remove_all_sd \
		-o "$bin/promtool" github.com/prometheus/prometheus/cmd/promtool
	go -C "$mod" build -mod=readonly -buildvcs=false -o "$bin/promqlnames" ./promqlnames
}

case "${1:-check}" in
check)
	build
	cd "$mon"
	"$bin/promtool" check rules rules.yaml
	"$bin/promtool" test rules rules_test.yml
	;;
promql-names)
	build >&2
	"$bin/promqlnames"
	;;
build)
	build
	;;
*)
	echo "usage: $0 [check|promql-names|build]" >&2
	exit 2
	;;
esac
