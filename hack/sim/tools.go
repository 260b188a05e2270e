//go:build tools

// Package tools pins kwok, which hack/sim.sh builds to simulate nodes and
// pods for the scale bench (issue 12). A module of its own: kwok needs
// newer Kubernetes libraries than the local cluster's v1.34 build.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
