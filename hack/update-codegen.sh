#!/usr/bin/env bash
# Regenerates everything derived from pkg/apis: deepcopy, register, the typed
# clientset (with watch and apply configurations), listers and informers into
# pkg/client, and the CRD YAML into manifests/crd. Never edit those by hand.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
MODULE=$(go list -m)
# The generators are pinned by go.mod tool directives.
CODEGEN_PKG=$(go list -m -f '{{.Dir}}' k8s.io/code-generator)
OUT=${CODEGEN_OUT:-$ROOT}

source "${CODEGEN_PKG}/kube_codegen.sh"

kube::codegen::gen_helpers \
    --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
    "${ROOT}/pkg/apis"

kube::codegen::gen_client \
    --with-watch \
    --with-applyconfig \
    --output-dir "${OUT}/pkg/client" \
    --output-pkg "${MODULE}/pkg/client" \
    --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
    "${ROOT}/pkg/apis"

mkdir -p "${OUT}/manifests/crd"
go tool controller-gen crd:crdVersions=v1 \
    paths=./pkg/apis/... \
    output:crd:artifacts:config="${OUT}/manifests/crd"
