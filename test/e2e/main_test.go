//go:build e2e

// Package e2e is the end-to-end suite. It runs against the local cluster
// with the operator deployed by `make deploy`; hack/e2e.sh sets it all up.
package e2e

import (
	"sync"
	"testing"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

var (
	fwOnce sync.Once
	fw     *framework.Framework
)

func setup(t *testing.T) *framework.Framework {
	t.Helper()
	fwOnce.Do(func() { fw = framework.New(t) })
	if fw == nil {
		t.Fatal("the framework could not be set up (see the first test's failure)")
	}
	return fw
}

// inNamespaceOnly marks a test that touches nothing outside its own
// namespace and bounds no duration tightly: it runs beside another such test
// (go test's -parallel, 2 by default here) once the suite's other tests
// are done. Those others stay alone on the node because they change what
// every test shares (the operator, the API server, the node, the object
// store) or measure time or load, which a neighbour would skew.
func inNamespaceOnly(t *testing.T) {
	t.Parallel()
}
