package oneshot

import "context"

// hold is called at known points of a run: "before-plugin", "before-commit"
// and the full name of each connector call. It does nothing; a test build
// (hold_testhooks.go, tag batoncursor_testhooks) makes it block there, so
// that the end-to-end tests can signal a run at an exact phase.
var hold = func(ctx context.Context, point string) {}
