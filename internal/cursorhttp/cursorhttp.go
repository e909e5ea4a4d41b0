// Package cursorhttp is the HTTP layer Cursor's Admin API, Organization API
// and SCIM clients share: Cursor's address, the HTTP client, base URL rules,
// safe quoting of server text, and errors that carry gRPC codes across the
// plugin boundary. The host imports it only for AdminAPI.
package cursorhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/conductorone/baton-cursor/internal/httpretry"
)

// AdminAPI is Cursor's Admin API base URL (the Organization API's too); its
// paths carry no version prefix. The host shows it as a setting's default.
const AdminAPI = "https://api.cursor.com"

// NewHTTPClient bounds connecting (dial and TLS handshake); the rest of an
// attempt, waiting for the answer and reading it, is bounded by httpretry's
// AttemptTimeout alone, which is the request-timeout setting: a second limit
// here would cut a longer setting short.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	return &http.Client{Transport: t}
}

// BaseURL checks an API base URL (http or https, a host, no user info, query
// or fragment) and returns it without a trailing slash. When it is not
// usable, why says what is wrong, for the caller to prefix with the setting.
func BaseURL(raw string) (base, why string) {
	switch {
	case raw == "":
		return "", "is empty"
	case strings.TrimSpace(raw) != raw:
		return "", "has leading or trailing whitespace"
	case !strings.Contains(raw, "://"):
		return "", "must start with https:// or http:// (got " + raw + ")"
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the url.Error text repeats the whole value, which may hold credentials
		}
		return "", "is not a URL (" + err.Error() + ")"
	}
	switch {
	case u.User != nil:
		return "", "must not contain a user name or password (" + u.Redacted() + ")"
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "must start with https:// or http:// (got " + raw + ")"
	case u.Hostname() == "":
		return "", "has no host (got " + raw + ")"
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", "must not have a query or fragment (got " + raw + ")"
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), ""
}

// MaxServerText is how many runes of a server's text a message quotes.
const MaxServerText = 200

// ServerText returns a JSON string field of a server's answer as safe,
// single-line text for an error message: secret redacted, control and
// invisible formatting characters gone, capped. Other JSON types give "".
func ServerText(raw json.RawMessage, secret string) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r): // Cf: bidi overrides and other invisible formatting
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxServerText {
		s = string([]rune(s)[:MaxServerText]) + "…"
	}
	return s
}

// Error is an error with a gRPC code that still unwraps to its cause (so
// errors.Is(err, context.Canceled) keeps working).
type Error struct {
	Code codes.Code
	Err  error
}

func (e *Error) Error() string              { return e.Err.Error() }
func (e *Error) Unwrap() error              { return e.Err }
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Err.Error()) }

// Errorf is fmt.Errorf with a gRPC code.
func Errorf(code codes.Code, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// RateLimitReset is when a 429 says to come back: its Retry-After, else a
// minute (Cursor's limits are per team per minute).
func RateLimitReset(h http.Header) time.Time {
	wait, ok := httpretry.RetryAfter(h, time.Now(), 5*time.Minute)
	if !ok {
		wait = time.Minute
	}
	return time.Now().Add(wait)
}

// WithRateLimit adds to a 429's status the RateLimitDescription that
// Request makes the request builder httpretry.Do calls once per attempt:
// a fresh body each time, mediaType as Accept (and Content-Type with a
// body), the User-Agent, and the credentials auth sets.
func Request(method, target string, body []byte, mediaType, userAgent string, auth func(*http.Request)) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rd)
		if err != nil {
			return nil, err
		}
		auth(req)
		req.Header.Set("Accept", mediaType)
		if body != nil {
			req.Header.Set("Content-Type", mediaType)
		}
		req.Header.Set("User-Agent", userAgent)
		return req, nil
	}
}

// Status is an error's gRPC status; an HTTP 429 carries a
// RateLimitDescription so that baton-sdk's retry waits for Cursor's window.
func Status(code codes.Code, msg string, httpStatus int, resetAt time.Time) *status.Status {
	st := status.New(code, msg)
	if httpStatus == http.StatusTooManyRequests {
		st = WithRateLimit(st, resetAt)
	}
	return st
}

// baton-sdk's retry reads, so a caller waits for the window to reopen.
func WithRateLimit(st *status.Status, resetAt time.Time) *status.Status {
	rl := v2.RateLimitDescription_builder{
		Status:  v2.RateLimitDescription_STATUS_OVERLIMIT,
		ResetAt: timestamppb.New(resetAt),
	}.Build()
	if withRL, err := st.WithDetails(rl); err == nil {
		return withRL
	}
	return st
}

// TransportError maps a failure of httpretry.Do: the caller's ctx ending is
// Canceled or DeadlineExceeded, an unreachable server is Unavailable, the
// rest Internal.
func TransportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return &Error{Code: status.FromContextError(ctx.Err()).Code(), Err: err}
	}
	var nerr *httpretry.NetworkError
	if errors.As(err, &nerr) {
		return &Error{Code: codes.Unavailable, Err: err}
	}
	return &Error{Code: codes.Internal, Err: err}
}
