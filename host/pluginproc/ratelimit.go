package pluginproc

import (
	"fmt"
	"sync/atomic"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rateLimitWaits is how many times in a row the host lets baton-sdk wait out
// Cursor's rate limit and call again, after the plugin's own retries.
// baton-sdk retries Unavailable without limit (honouring the
// RateLimitDescription's reset time, at most 60 s a wait), so the next
// rate-limited answer in a row ends the sync.
const rateLimitWaits = 2

// rateLimits counts rate-limited answers in a row; any success resets it.
type rateLimits struct{ inARow atomic.Int32 }

func (r *rateLimits) succeeded() { r.inARow.Store(0) }

// final turns an Unavailable answer of a live plugin, which means Cursor kept
// failing after the plugin's retries, into what the host returns: the
// plugin's status itself, so baton-sdk reads Cursor's reset time and calls
// again, while it carries a RateLimitDescription and rateLimitWaits allow;
// else Aborted, which baton-sdk does not retry.
func (r *rateLimits) final(err error, prefix string) error {
	st := status.Convert(err)
	if pacing(st) {
		return err // the plugin pacing itself under Cursor's limit, not Cursor refusing: never counted
	}
	if hasRateLimit(st) {
		if n := r.inARow.Add(1); n <= rateLimitWaits {
			return err
		}
		return status.Error(codes.Aborted, fmt.Sprintf("%s%s (the sync already waited for Cursor's rate limit to reset %d times)",
			prefix, st.Message(), rateLimitWaits))
	}
	return status.Error(codes.Aborted, prefix+st.Message())
}

// pacing: the plugin's "come back at reset_at" (a RateLimitDescription with
// STATUS_OK: nothing was refused), which it sends instead of blocking a call
// for most of a minute under the organization's 20 requests a minute.
func pacing(st *status.Status) bool {
	for _, d := range st.Details() {
		if rl, ok := d.(*v2.RateLimitDescription); ok && rl.GetStatus() == v2.RateLimitDescription_STATUS_OK {
			return true
		}
	}
	return false
}

func hasRateLimit(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*v2.RateLimitDescription); ok {
			return true
		}
	}
	return false
}
