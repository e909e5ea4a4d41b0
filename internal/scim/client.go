// Package scim is a small SCIM 2.0 client (RFC 7643/7644) for Cursor's
// per-tenant SCIM endpoint. Cursor documents almost nothing about that
// endpoint (docs/cursor-api.md §4), so the client follows the RFCs the way generic
// servers such as WorkOS Directory Sync implement them, and tolerates the
// usual variations in their answers. Errors carry gRPC status codes.
package scim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
	"github.com/conductorone/baton-cursor/internal/httpretry"
	"google.golang.org/grpc/codes"
)

const (
	mediaType  = "application/scim+json"
	userSchema = "urn:ietf:params:scim:schemas:core:2.0:User"
	usersPath  = "/Users"
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
		c.hc = cursorhttp.NewHTTPClient()
		// A listing keeps up to listInFlight requests going: keep that many connections between pages.
		c.hc.Transport.(*http.Transport).MaxIdleConnsPerHost = listInFlight
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
	base, why := cursorhttp.BaseURL(raw)
	if why != "" {
		msg := "cursor-scim-url " + why + "; copy the SCIM base URL from the Cursor dashboard's SCIM setup (BATON_CURSOR_SCIM_URL)"
		return "", invalidf("%s", strings.ReplaceAll(msg, token, "[redacted]"))
	}
	return base, nil
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
	resp, err := httpretry.Do(ctx, c.hc, c.retry, cursorhttp.Request(method, target, body, mediaType, c.userAgent, c.auth))
	if err != nil {
		return nil, transportError(ctx, method, path, err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return nil, newError(resp, method, path, c.base+path, c.token)
	}
	return resp, nil
}

func internalf(format string, args ...any) error {
	return cursorhttp.Errorf(codes.Internal, format, args...)
}

func invalidf(format string, args ...any) error {
	return cursorhttp.Errorf(codes.InvalidArgument, format, args...)
}

// transportError maps httpretry's failures, saying which SCIM call failed.
func transportError(ctx context.Context, method, path string, err error) error {
	return cursorhttp.TransportError(ctx, fmt.Errorf("%s %s on Cursor's SCIM endpoint: %w", method, path, err))
}

// auth sets the SCIM bearer token.
func (c *Client) auth(req *http.Request) { req.Header.Set("Authorization", "Bearer "+c.token) }
