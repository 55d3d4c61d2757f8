// Command etcd is the upstream etcd server (go.etcd.io/etcd/server/v3), with
// its normal command-line flags, at the version Kubernetes itself uses.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
