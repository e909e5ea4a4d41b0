// Package scim is a small SCIM 2.0 client (RFC 7643/7644) for Cursor's
// per-tenant SCIM endpoint. Cursor documents almost nothing about that
// endpoint (cursor-api.md §4), so the client follows the RFCs the way generic
// servers such as WorkOS Directory Sync implement them, and tolerates the
// usual variations in their answers. Errors carry gRPC status codes.
package scim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/conductorone/baton-cursor/internal/httpretry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	mediaType   = "application/scim+json"
	userSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	usersPath   = "/Users"
)

// Config configures a Client. BaseURL and Token are required.
type Config struct {
	BaseURL    string       // the tenant's SCIM base URL from the Cursor dashboard, e.g. https://…/scim/v2 (opaque; any path prefix)
	Token      string       // bearer token (secret)
	HTTPClient *http.Client // default: a client with dial, TLS and header timeouts
	Retry      httpretry.Policy
	OnRetry    func(attempt int, wait time.Duration, reason string) // overrides Retry.OnRetry when set
	UserAgent  string                                               // default "baton-cursor"
}

// Client calls the SCIM endpoint. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host[/prefix], no trailing slash
	token     string
	hc        *http.Client
	retry     httpretry.Policy
	userAgent string
}

// New validates cfg without sending anything. Its errors are gRPC
// InvalidArgument statuses naming the offending setting; they never contain the token.
func New(cfg Config) (*Client, error) {
	if err := checkToken(cfg.Token); err != nil {
		return nil, err
	}
	base, err := checkBaseURL(cfg.BaseURL, cfg.Token)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, token: cfg.Token, hc: cfg.HTTPClient, retry: cfg.Retry, userAgent: cfg.UserAgent}
	if c.hc == nil {
		c.hc = defaultHTTPClient()
	}
	if cfg.OnRetry != nil {
		c.retry.OnRetry = cfg.OnRetry
	}
	if c.userAgent == "" {
		c.userAgent = "baton-cursor"
	}
	return c, nil
}

func checkToken(token string) error {
	switch {
	case strings.TrimSpace(token) == "":
		return invalidf("cursor-scim-token is empty: set it (BATON_CURSOR_SCIM_TOKEN) to the token generated in the Cursor dashboard's SCIM setup")
	case strings.HasPrefix(strings.ToLower(strings.TrimSpace(token)), "bearer "):
		return invalidf(`cursor-scim-token starts with "Bearer ": give the token alone (the token is not shown here)`)
	case strings.TrimSpace(token) != token:
		return invalidf("cursor-scim-token has leading or trailing whitespace: remove it (the token is not shown here)")
	case strings.IndexFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return invalidf("cursor-scim-token contains whitespace or control characters: paste the token again (the token is not shown here)")
	}
	return nil
}

// checkBaseURL returns the base without a trailing slash. The token is
// redacted from messages in case it was pasted into the URL.
func checkBaseURL(raw, token string) (string, error) {
	bad := func(why string) error {
		msg := "cursor-scim-url " + why + "; copy the SCIM base URL from the Cursor dashboard's SCIM setup (BATON_CURSOR_SCIM_URL)"
		return invalidf("%s", strings.ReplaceAll(msg, token, "[redacted]"))
	}
	if raw == "" {
		return "", bad("is empty")
	}
	if strings.TrimSpace(raw) != raw {
		return "", bad("has leading or trailing whitespace")
	}
	if !strings.Contains(raw, "://") {
		return "", bad("must start with https:// or http:// (got " + raw + ")")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the url.Error text repeats the whole value, which may hold credentials
		}
		return "", bad("is not a URL (" + err.Error() + ")")
	}
	switch {
	case u.User != nil:
		return "", bad("must not contain a user name or password (" + u.Redacted() + ")")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", bad("must start with https:// or http:// (got " + raw + ")")
	case u.Hostname() == "":
		return "", bad("has no host (got " + raw + ")")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", bad("must not have a query or fragment (got " + raw + ")")
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// defaultHTTPClient bounds each connection phase; the whole attempt,
// body included, is bounded by httpretry's AttemptTimeout.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: t}
}

// call sends method base+path[?query] with retries (POST included: a create
// whose first attempt succeeded unseen comes back as 409, which callers treat
// as "already exists") and returns the 2xx answer; any other outcome becomes
// an error with a gRPC code.
func (c *Client) call(ctx context.Context, method, path, query string, body []byte) (*httpretry.Response, error) {
	target := c.base + path
	if query != "" {
		target += "?" + query
	}
	resp, err := httpretry.Do(ctx, c.hc, c.retry, func(ctx context.Context) (*http.Request, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Accept", mediaType)
		if body != nil {
			req.Header.Set("Content-Type", mediaType)
		}
		req.Header.Set("User-Agent", c.userAgent)
		return req, nil
	})
	if err != nil {
		return nil, transportError(ctx, method, path, err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return nil, newError(resp, method, path, c.base+path, c.token)
	}
	return resp, nil
}

// statusError is an error with a gRPC code that still unwraps to its cause
// (so errors.Is(err, context.Canceled) keeps working).
type statusError struct {
	code codes.Code
	err  error
}

func (e *statusError) Error() string              { return e.err.Error() }
func (e *statusError) Unwrap() error              { return e.err }
func (e *statusError) GRPCStatus() *status.Status { return status.New(e.code, e.err.Error()) }

func internalf(format string, args ...any) error {
	return &statusError{code: codes.Internal, err: fmt.Errorf(format, args...)}
}

func invalidf(format string, args ...any) error {
	return &statusError{code: codes.InvalidArgument, err: fmt.Errorf(format, args...)}
}

// transportError maps httpretry's failures: the caller's ctx ending is
// Canceled/DeadlineExceeded, an unreachable endpoint is Unavailable.
func transportError(ctx context.Context, method, path string, err error) error {
	err = fmt.Errorf("%s %s on Cursor's SCIM endpoint: %w", method, path, err)
	if ctx.Err() != nil {
		return &statusError{code: status.FromContextError(ctx.Err()).Code(), err: err}
	}
	var nerr *httpretry.NetworkError
	if errors.As(err, &nerr) {
		return &statusError{code: codes.Unavailable, err: err}
	}
	return &statusError{code: codes.Internal, err: err}
}
