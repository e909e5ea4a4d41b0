//go:build batoncursor_testhooks

package oneshot

import (
	"context"
	"os"
)

// Test builds only: BATON_CURSOR_TEST_HOLD names the point to block at, and
// BATON_CURSOR_TEST_HOLD_MARKER a file written when the run gets there. The
// run then waits until it is cancelled (by a signal), as if the work at that
// point took that long.
func init() {
	point, marker := os.Getenv("BATON_CURSOR_TEST_HOLD"), os.Getenv("BATON_CURSOR_TEST_HOLD_MARKER")
	if point == "" {
		return
	}
	hold = func(ctx context.Context, at string) {
		if at != point {
			return
		}
		_ = os.WriteFile(marker, []byte(at), 0o600)
		<-ctx.Done()
	}
}
