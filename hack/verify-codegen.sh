#!/usr/bin/env bash
# Fails when generated code or the CRD is stale: regenerates into a scratch
# copy of the tree and compares.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Copy the module (without caches) and regenerate in place there.
tar -C "$ROOT" --exclude=./.local-cluster --exclude=./bin --exclude=./.git -cf - . | tar -C "$TMP" -xf -
if ! (cd "$TMP" && bash hack/update-codegen.sh >"$TMP/codegen.log" 2>&1); then
    echo "hack/update-codegen.sh failed:" >&2
    cat "$TMP/codegen.log" >&2
    exit 1
fi

status=0
for d in pkg/client pkg/apis manifests/crd manifests/postgres-operator.yaml charts/postgres-operator/crds; do
    if ! diff -Nru "$ROOT/$d" "$TMP/$d" >"$TMP/diff.txt"; then
        echo "stale generated files under $d; run 'make generate':" >&2
        head -50 "$TMP/diff.txt" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "generated code is up to date"
exit $status
