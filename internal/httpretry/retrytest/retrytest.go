// Package retrytest is the injected clock for tests of code built on
// httpretry: a Policy.Wait that records the waits and never sleeps.
package retrytest

import (
	"context"
	"sync"
	"time"
)

// Clock records every wait it is asked for.
type Clock struct {
	mu    sync.Mutex
	waits []time.Duration
}

// Wait is a httpretry.Policy.Wait: it records d and returns at once.
func (c *Clock) Wait(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	return ctx.Err()
}

// Waits returns the waits so far, in order.
func (c *Clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// Seconds turns whole seconds into durations, for comparing with Waits.
func Seconds(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, s := range n {
		out[i] = time.Duration(s) * time.Second
	}
	return out
}
