// Command pause is the pod sandbox's process (the role of Kubernetes' build/pause/linux/pause.c): it holds the
// pod's namespaces, reaps orphaned children and exits on SIGINT/SIGTERM. Built statically into the image
// wacloud/pause (scripts/tools-node.sh), so the test cluster never pulls registry.k8s.io/pause.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
