//go:build e2e && e2enodes

// Package e2enodes is the multi-node end-to-end suite: real pods on the
// local cluster's three nodes (hack/local-cluster.sh with
// LOCAL_CLUSTER_NODES=3), with the operator deployed by `make deploy`, and
// node faults (cut, stop, drain) under write load. hack/e2e-nodes.sh sets
// it all up.
package e2enodes

import (
	"fmt"
	"os"
	"testing"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// operatorNode is where the operator runs during the suite: the first
// node, which carries the control plane and is never cut, stopped or
// drained, so what the tests measure is the members' fate, not the
// operator's own.
const operatorNode = "local-node"

var (
	fw     *framework.Framework
	pinned bool
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pinned {
		if err := fw.PinOperator(""); err != nil {
			fmt.Fprintf(os.Stderr, "restoring the operator's placement: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// setup connects once and pins the operator to operatorNode.
func setup(t *testing.T) *framework.Framework {
	t.Helper()
	if fw == nil {
		fw = framework.New(t)
	}
	if !pinned {
		if err := fw.PinOperator(operatorNode); err != nil {
			framework.Fatalf(t, "%v", err)
		}
		pinned = true
	}
	return fw
}
