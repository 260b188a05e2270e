// Command etcd is the upstream etcd server, built at the version Kubernetes
// itself requires (see go.mod) so both share one dependency graph.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
