//go:build e2e

// Package e2e is the end-to-end suite. It runs against the local cluster
// with the operator deployed by `make deploy`; hack/e2e.sh sets it all up.
package e2e

import (
	"testing"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

var fw *framework.Framework

func setup(t *testing.T) *framework.Framework {
	t.Helper()
	if fw == nil {
		fw = framework.New(t)
	}
	return fw
}
