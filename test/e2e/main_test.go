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
	fwMu sync.Mutex
	fw   *framework.Framework
)

func setup(t *testing.T) *framework.Framework {
	t.Helper()
	fwMu.Lock()
	defer fwMu.Unlock()
	if fw == nil {
		fw = framework.New(t)
	}
	return fw
}

// setupWaiting is setup for a test that spends most of its time waiting
// for a clock of the operator or of a tool (a cron minute, an alert's
// "for", a retry): such tests run side by side, after every other test
// of the package, so their waits overlap and the busy tests never share
// the machine with them. Each works in namespaces of its own.
func setupWaiting(t *testing.T) *framework.Framework {
	t.Helper()
	t.Parallel()
	return setup(t)
}
