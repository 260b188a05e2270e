package pgsim

import (
	"context"

	"postgres-operator.dev/postgres-operator/pkg/pki"
)

// StaticCA is one CA for every cluster: for running pgsim without
// Kubernetes (a local try, a load test), with clients that trust it.
type StaticCA pki.Pair

func (s StaticCA) CA(context.Context, string, string) (pki.Pair, error) { return pki.Pair(s), nil }
