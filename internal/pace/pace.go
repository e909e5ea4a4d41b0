// Package pace keeps a client under a server's per-key request limit
// (Cursor: 20 requests a minute, docs/cursor-api.md §3.1) and counts what it sent.
//
// It holds a log of the last Limit send times: a request goes when fewer
// than Limit were sent in the last Window, so a small sync bursts and a large
// one settles at Limit a Window, never more in any Window-long span, which
// also keeps it under a server that counts in fixed windows resetting each
// minute (Cursor's documented kind). A 429 seen on the wire holds every
// caller until its Retry-After (or a whole Window) has passed.
package pace

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conductorone/baton-cursor/internal/httpretry"
)

// Margin is added to Window: requests spaced exactly a Window apart when
// sent can arrive closer together, and a server counting at arrival would
// then see one too many.
const Margin = 50 // Window/Margin, 1.2 s a minute

// Pacer is safe for concurrent use. The zero value is not usable; call New.
type Pacer struct {
	limit  int
	window time.Duration

	mu   sync.Mutex
	sent []time.Time // the last limit reservations, oldest first
	hold time.Time   // no request before this (after a 429)

	requests atomic.Int64 // requests that reached the transport, retries included
	limited  atomic.Int64 // of those, answered 429
}

// New paces at limit requests per window; limit <= 0 means no pacing (the
// counters still work).
func New(limit int, window time.Duration) *Pacer {
	return &Pacer{limit: limit, window: window + window/Margin}
}

// Next is when a request could go without waiting: now, or later when the
// window is full or a 429 asked us to hold. A caller that would rather come
// back later than block (a sync page handed back to baton-sdk) reads it.
func (p *Pacer) Next() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nextLocked(time.Now())
}

func (p *Pacer) nextLocked(now time.Time) time.Time {
	next := now
	if p.limit > 0 && len(p.sent) >= p.limit {
		next = later(next, p.sent[len(p.sent)-p.limit].Add(p.window))
	}
	return later(next, p.hold)
}

// Wait blocks until a request may go, then reserves that slot. It returns
// ctx's error if ctx ends first (no slot is taken then).
func (p *Pacer) Wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := time.Now()
		next := p.nextLocked(now)
		if !next.After(now) {
			if p.limit > 0 {
				if len(p.sent) >= p.limit {
					p.sent = append(p.sent[:0], p.sent[len(p.sent)-p.limit+1:]...)
				}
				p.sent = append(p.sent, now)
			}
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		t := time.NewTimer(next.Sub(now))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// Hold makes every Wait block until at least until.
func (p *Pacer) Hold(until time.Time) {
	p.mu.Lock()
	p.hold = later(p.hold, until)
	p.mu.Unlock()
}

// Requests is how many requests were sent through Transport, retries included.
func (p *Pacer) Requests() int64 { return p.requests.Load() }

// RateLimited is how many of them were answered 429.
func (p *Pacer) RateLimited() int64 { return p.limited.Load() }

// RetryWait is a httpretry.Policy.Wait that sleeps d and then waits for a
// slot, so a retry is paced like a first attempt; retry wraps the Wait the
// policy had (nil: a real timer).
func (p *Pacer) RetryWait(retry func(ctx context.Context, d time.Duration) error) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		if retry != nil {
			if err := retry(ctx, d); err != nil {
				return err
			}
		} else if err := httpretry.Sleep(ctx, d); err != nil {
			return err
		}
		return p.Wait(ctx)
	}
}

// Transport counts every request sent through next (nil: the default
// transport) and turns a 429 into a Hold until its Retry-After, or a whole
// window when it has none.
func (p *Pacer) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{p: p, next: next}
}

type roundTripper struct {
	p    *Pacer
	next http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.p.requests.Add(1)
	resp, err := rt.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		rt.p.limited.Add(1)
		now := time.Now()
		wait, ok := httpretry.RetryAfter(resp.Header, now, 5*time.Minute)
		if !ok {
			wait = rt.p.window
		}
		rt.p.Hold(now.Add(wait))
	}
	return resp, err
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
