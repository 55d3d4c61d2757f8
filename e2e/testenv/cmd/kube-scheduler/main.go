// Command kube-scheduler is the upstream Kubernetes scheduler, built from
// the k8s.io/kubernetes module exactly as kubernetes/cmd/kube-scheduler
// does. It binds the test control plane's Pods to its simulated nodes.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
