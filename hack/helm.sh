#!/usr/bin/env bash
# Helm, built from its Go module (hack/tools/helm, a module of its own so
# helm's dependency tree never moves the operator's), for
# charts/postgres-operator: its chart_test.go lints and renders the chart,
# test/e2e/helm_test.go installs it into the local cluster.
#
#   hack/helm.sh build          only builds bin/tools/helm
#   hack/helm.sh lint           helm lint --strict charts/postgres-operator
#   hack/helm.sh template RELEASE [FLAGS...]
#                               helm template RELEASE charts/postgres-operator FLAGS...
#   hack/helm.sh ARGS...        any other helm command (install, uninstall, list...)
#
# Every command builds helm first (a no-op once it is up to date). helm's own
# configuration, cache and data live under bin/tools/helm-home unless the
# HELM_*_HOME variables say otherwise, so a user's repositories and plugins
# never change what the tests see. HELM_TOOLS_BIN overrides bin/tools. Any
# failure, building helm included, is a non-zero exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mod=$root/hack/tools/helm
bin=${HELM_TOOLS_BIN:-$root/bin/tools}
chart=$root/charts/postgres-operator

build() {
	mkdir -p "$bin"
	# As helm's own Makefile does: stamp the version helm reports, and the
	# Kubernetes version it assumes without a cluster (helm template, helm
	# lint), from its client-go (v0.N → 1.N); a plain `go build` leaves
	# v3.22 and Kubernetes 1.20.
	local version k8s
	version=$(go -C "$mod" list -mod=readonly -m -f '{{.Version}}' helm.sh/helm/v3)
	k8s=$(go -C "$mod" list -mod=readonly -m -f '{{.Version}}' k8s.io/client-go)
	k8s=${k8s#v0.}
	k8s=${k8s%%.*}
	local x=helm.sh/helm/v3
	go -C "$mod" build -mod=readonly -buildvcs=false \
		-ldflags "-s -w -X $x/internal/version.version=$version
			-X $x/pkg/chartutil.k8sVersionMajor=1 -X $x/pkg/chartutil.k8sVersionMinor=$k8s
			-X $x/pkg/lint/rules.k8sVersionMajor=1 -X $x/pkg/lint/rules.k8sVersionMinor=$k8s" \
		-o "$bin/helm" helm.sh/helm/v3/cmd/helm
}

export HELM_CONFIG_HOME=${HELM_CONFIG_HOME:-$bin/helm-home/config}
export HELM_CACHE_HOME=${HELM_CACHE_HOME:-$bin/helm-home/cache}
export HELM_DATA_HOME=${HELM_DATA_HOME:-$bin/helm-home/data}

case "${1:-}" in
"")
	echo "usage: $0 build | lint [FLAGS...] | template RELEASE [FLAGS...] | HELM-ARGS..." >&2
	exit 2
	;;
build)
	build
	;;
lint)
	build
	shift
	exec "$bin/helm" lint --strict "$chart" "$@"
	;;
template)
	build
	[ $# -ge 2 ] || { echo "usage: $0 template RELEASE [FLAGS...]" >&2; exit 2; }
	exec "$bin/helm" template "$2" "$chart" "${@:3}"
	;;
*)
	build
	exec "$bin/helm" "$@"
	;;
esac
