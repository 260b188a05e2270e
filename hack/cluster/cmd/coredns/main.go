// Command coredns is CoreDNS with only the plugins the local cluster uses.
// Upstream's main imports every plugin (cloud DNS providers included), which
// would pull large SDKs into this module for nothing.
package main

import (
	"github.com/coredns/coredns/coremain"

	// The Corefile written by hack/lib/cluster-config.sh uses exactly these.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() { coremain.Run() }
