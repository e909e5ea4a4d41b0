package service

import (
	"os"
	"time"
)

// removeWhileStopped removes the service's temp dir on a signal's way
// out. Windows has no SIGSTOP to hold the children still first: the
// removal is retried while they exit, and a file a child still holds open
// stays behind.
func removeWhileStopped(dir string) {
	for range 10 {
		if os.RemoveAll(dir) == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
