// Package httpretry sends an HTTP request with Cursor's documented retry rules:
// 429 and 5xx answers and network failures are retried after Retry-After or a
// 1, 2, 4, 8, 16 s schedule; everything else is returned at once.
// It is shared by the Admin API client and the SCIM client.
package httpretry

import (
	"context"
	"time"
)

// Policy configures Do. The zero value means Cursor's documented defaults.
type Policy struct {
	// Backoff is the wait before each retry when the answer carries no usable
	// Retry-After; len(Backoff) is the maximum number of retries.
	// nil means 1, 2, 4, 8, 16 s; a non-nil empty slice means no retries.
	Backoff []time.Duration
	// AttemptTimeout bounds one attempt, including reading the whole body. Default 60 s.
	AttemptTimeout time.Duration
	// MaxRetryAfter caps a server's Retry-After. Default 5 min.
	MaxRetryAfter time.Duration
	// MaxBodyBytes caps the response body read into memory. Default 256 MiB.
	MaxBodyBytes int64
	// Wait sleeps d or until ctx ends. Tests inject a recorder; default is a real timer.
	Wait func(ctx context.Context, d time.Duration) error
	// OnRetry, if set, is told before each retry: the 1-based number of the
	// attempt that failed, the wait, and why (e.g. "HTTP 503").
	OnRetry func(attempt int, wait time.Duration, reason string)
}

// DefaultBackoff is Cursor's documented schedule (docs/cursor-api.md §3.1).
var DefaultBackoff = []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

const (
	defaultAttemptTimeout = 60 * time.Second
	defaultMaxRetryAfter  = 5 * time.Minute
	defaultMaxBodyBytes   = 256 << 20
)

func (p Policy) withDefaults() Policy {
	if p.Backoff == nil {
		p.Backoff = DefaultBackoff
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = defaultAttemptTimeout
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = defaultMaxRetryAfter
	}
	if p.MaxBodyBytes <= 0 {
		p.MaxBodyBytes = defaultMaxBodyBytes
	}
	if p.Wait == nil {
		p.Wait = Sleep
	}
	return p
}

// Sleep waits d on a real timer, returning early with ctx.Err() if ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
