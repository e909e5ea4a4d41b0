package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Response is the answer Do settled on: a non-retryable status, or the last
// retryable one once retries ran out (the caller decodes its error envelope).
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int           // requests sent, this one included
	Elapsed  time.Duration // time spent in attempts and waits
}

// NetworkError means no attempt produced a complete answer.
type NetworkError struct {
	Host     string
	Attempts int
	Elapsed  time.Duration
	Err      error // the last attempt's cause
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("no answer from %s after %s over %s: %v", e.Host, Plural(e.Attempts, "attempt"), RoundElapsed(e.Elapsed), e.Err)
}

func (e *NetworkError) Unwrap() error { return e.Err }

// Do sends newRequest() until it gets a non-retryable answer or retries run
// out. Each attempt, including reading the whole body, is bounded by
// p.AttemptTimeout. newRequest is called once per attempt with that attempt's
// context, so request bodies are rebuilt every time.
//
// Errors: ctx ending wraps ctx.Err(); exhausted or non-retryable transport
// failures are *NetworkError; a failing newRequest or an oversized body are
// returned as they are.
func Do(ctx context.Context, hc *http.Client, p Policy, newRequest func(ctx context.Context) (*http.Request, error)) (*Response, error) {
	return do(ctx, hc, p, newRequest, nil)
}

// DoStream is Do for an answer too large to hold whole: a 2xx body is handed
// to read as it arrives, within the attempt's timeout and p.MaxBodyBytes, and
// the Response has no Body. An error of read's own is returned as it is and
// not retried, as read may have used part of the body; the connection failing
// while read runs is a *NetworkError, not retried either. Other answers are
// read whole and retried as Do retries them.
func DoStream(ctx context.Context, hc *http.Client, p Policy, newRequest func(ctx context.Context) (*http.Request, error), read func(io.Reader) error) (*Response, error) {
	return do(ctx, hc, p, newRequest, read)
}

func do(ctx context.Context, hc *http.Client, p Policy, newRequest func(ctx context.Context) (*http.Request, error), read func(io.Reader) error) (*Response, error) {
	p = p.withDefaults()
	if hc == nil {
		hc = http.DefaultClient
	}
	var (
		spent time.Duration
		host  string
	)
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, abandoned(host, attempt-1, err)
		}
		start := time.Now()
		resp, reqHost, retryable, err := once(ctx, hc, p, newRequest, read)
		spent += time.Since(start)
		if reqHost != "" {
			host = reqHost
		}
		if ctx.Err() != nil { // the caller gave up mid-attempt; that is not a network failure
			return nil, abandoned(host, attempt, ctx.Err())
		}

		retriesLeft := attempt <= len(p.Backoff)
		var wait time.Duration
		var reason string
		switch {
		case err != nil && (!retryable || !retriesLeft):
			var nerr *netFailure
			if errors.As(err, &nerr) {
				return nil, &NetworkError{Host: host, Attempts: attempt, Elapsed: spent, Err: nerr.err}
			}
			return nil, err
		case err != nil:
			wait, reason = p.Backoff[attempt-1], err.Error()
		default:
			resp.Attempts, resp.Elapsed = attempt, spent
			if !retryableStatus(resp.Status) || !retriesLeft {
				return resp, nil
			}
			wait, reason = p.Backoff[attempt-1], fmt.Sprintf("HTTP %d", resp.Status)
			if d, ok := RetryAfter(resp.Header, time.Now(), p.MaxRetryAfter); ok {
				wait, reason = d, reason+" with Retry-After"
			}
		}

		if p.OnRetry != nil {
			p.OnRetry(attempt, wait, reason)
		}
		if err := p.Wait(ctx, wait); err != nil {
			return nil, abandoned(host, attempt, err)
		}
		spent += wait
	}
}

// netFailure marks a transport or body-read error, so Do reports it as a
// *NetworkError rather than as a caller mistake.
type netFailure struct{ err error }

func (e *netFailure) Error() string { return e.err.Error() }
func (e *netFailure) Unwrap() error { return e.err }

// once makes one attempt under its own timeout and reads the whole body, or
// hands a 2xx body to read.
func once(ctx context.Context, hc *http.Client, p Policy, newRequest func(context.Context) (*http.Request, error), read func(io.Reader) error) (resp *Response, host string, retryable bool, err error) {
	actx, cancel := context.WithTimeout(ctx, p.AttemptTimeout)
	defer cancel()

	req, err := newRequest(actx)
	if err != nil {
		return nil, "", false, fmt.Errorf("building the request: %w", err)
	}
	host = req.URL.Host

	hresp, err := hc.Do(req)
	if err != nil {
		return nil, host, isTransient(err, actx), &netFailure{describe(err, actx, p.AttemptTimeout)}
	}
	defer hresp.Body.Close()

	if read != nil && hresp.StatusCode >= 200 && hresp.StatusCode <= 299 {
		body := &streamBody{r: hresp.Body, max: p.MaxBodyBytes}
		if err := read(body); err != nil {
			switch {
			case errors.Is(body.err, errTooLarge):
				return nil, host, false, fmt.Errorf("response from %s (HTTP %d): %w", host, hresp.StatusCode, body.err)
			case body.err != nil:
				return nil, host, false, &netFailure{fmt.Errorf("reading the HTTP %d response body: %w", hresp.StatusCode, describe(body.err, actx, p.AttemptTimeout))}
			}
			return nil, host, false, err
		}
		return &Response{Status: hresp.StatusCode, Header: hresp.Header}, host, false, nil
	}
	body, err := readBody(hresp, p.MaxBodyBytes)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, host, false, fmt.Errorf("response from %s (HTTP %d): %w", host, hresp.StatusCode, err)
		}
		return nil, host, isTransient(err, actx), &netFailure{fmt.Errorf("reading the HTTP %d response body: %w", hresp.StatusCode, describe(err, actx, p.AttemptTimeout))}
	}
	return &Response{Status: hresp.StatusCode, Header: hresp.Header, Body: body}, host, false, nil
}

// describe drops net/http's `Get "url": ` prefix (callers name the host) and
// turns the attempt deadline into words.
func describe(err error, actx context.Context, timeout time.Duration) error {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no complete answer within the %s attempt timeout", timeout)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

func abandoned(host string, attempts int, cause error) error {
	if host == "" {
		return fmt.Errorf("request abandoned before it was sent: %w", cause)
	}
	return fmt.Errorf("request to %s abandoned after %s: %w", host, Plural(attempts, "attempt"), cause)
}

var errTooLarge = errors.New("body too large")

// readBody reads the whole body, sized up front from Content-Length so a
// multi-megabyte roster is one allocation rather than a chain of doublings.
func readBody(resp *http.Response, max int64) ([]byte, error) {
	size := int64(512)
	if resp.ContentLength > 0 && resp.ContentLength <= max {
		size = resp.ContentLength + 1 // room for the final zero-byte read that reports EOF
	}
	r := io.LimitReader(resp.Body, max+1)
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, max)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// streamBody is a body handed to DoStream's read: it keeps the first failure
// of the connection, or of the size cap, so that once can tell it from read's
// own errors.
type streamBody struct {
	r    io.Reader
	max  int64 // bytes allowed
	read int64
	err  error
}

func (b *streamBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if b.read += int64(n); b.read > b.max {
		b.err = fmt.Errorf("%w: more than %d bytes", errTooLarge, b.max)
		return 0, b.err
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// Plural renders "1 attempt" / "6 attempts".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// RoundElapsed rounds d for messages: whole seconds from 1 s up, else milliseconds.
func RoundElapsed(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
