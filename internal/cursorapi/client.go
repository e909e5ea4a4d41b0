// Package cursorapi is a small client for Cursor's team Admin API
// (https://api.cursor.com, HTTP Basic auth with the key as user name).
// Errors it returns carry gRPC status codes so they cross the connector
// boundary meaningfully.
package cursorapi

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
	"github.com/conductorone/baton-cursor/internal/httpretry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Config configures a Client. Only APIKey is required.
type Config struct {
	BaseURL    string       // default cursorhttp.AdminAPI; a path prefix and trailing slash are allowed
	APIKey     string       // a team Admin API key ("crsr_…" or the older "key_…")
	HTTPClient *http.Client // default: a client with dial, TLS and header timeouts
	Retry      httpretry.Policy
	OnRetry    func(attempt int, wait time.Duration, reason string) // overrides Retry.OnRetry when set
	UserAgent  string                                               // default "baton-cursor"
}

// Client calls the Admin API. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host[/prefix], no trailing slash
	key       string
	hc        *http.Client
	retry     httpretry.Policy
	userAgent string
}

// New validates cfg without sending anything. Its errors are gRPC
// InvalidArgument statuses naming the offending setting; they never contain the key.
func New(cfg Config) (*Client, error) {
	if err := checkKey(cfg.APIKey); err != nil {
		return nil, err
	}
	base, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, key: cfg.APIKey, hc: cfg.HTTPClient, retry: cfg.Retry, userAgent: cfg.UserAgent}
	if c.hc == nil {
		c.hc = cursorhttp.NewHTTPClient()
	}
	if cfg.OnRetry != nil {
		c.retry.OnRetry = cfg.OnRetry
	}
	if c.userAgent == "" {
		c.userAgent = "baton-cursor"
	}
	return c, nil
}

// checkKey accepts any non-empty key: Cursor documents only the prefixes, not
// the format, so being stricter could lock out valid keys. It rejects what
// would corrupt the Basic credentials or is almost certainly a paste mistake.
func checkKey(key string) error {
	switch {
	case strings.TrimSpace(key) == "":
		return status.Error(codes.InvalidArgument, "cursor-api-key is empty: set it (BATON_CURSOR_API_KEY) to a team Admin API key from cursor.com/dashboard → API Keys")
	case strings.TrimSpace(key) != key:
		return status.Error(codes.InvalidArgument, "cursor-api-key has leading or trailing whitespace: remove it (the key is not shown here)")
	case strings.IndexFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return status.Error(codes.InvalidArgument, "cursor-api-key contains whitespace or control characters: paste the key again (the key is not shown here)")
	case strings.Contains(key, ":"):
		// Basic auth splits user from password at the first colon; curl's "-u KEY:" form invites this mistake.
		return status.Error(codes.InvalidArgument, "cursor-api-key contains ':': give the key alone, without the trailing ':' of curl's -u KEY: form (the key is not shown here)")
	}
	return nil
}

func checkBaseURL(raw string) (string, error) {
	if raw == "" {
		return cursorhttp.AdminAPI, nil
	}
	base, why := cursorhttp.BaseURL(raw)
	if why != "" {
		return "", status.Errorf(codes.InvalidArgument, "cursor-base-url %s; expected something like %s", why, cursorhttp.AdminAPI)
	}
	return base, nil
}

// do sends method base+path (with a JSON body when body is not nil) with
// retries and returns the 2xx answer; any other outcome becomes an error with
// a gRPC code.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (*httpretry.Response, error) {
	target := c.base + path
	resp, err := httpretry.Do(ctx, c.hc, c.retry, cursorhttp.Request(method, target, body, "application/json", c.userAgent, c.auth))
	if err != nil {
		return nil, cursorhttp.TransportError(ctx, err)
	}
	if err := c.refusal(resp, path, target); err != nil {
		return nil, err
	}
	return resp, nil
}

// refusal is the error of an answer other than 2xx, nil for a 2xx.
func (c *Client) refusal(resp *httpretry.Response, path, target string) error {
	if resp.Status >= 200 && resp.Status <= 299 {
		return nil
	}
	route, _, _ := strings.Cut(path, "?") // messages name the route; the URL keeps the query
	return newAPIError(resp, route, target, c.key)
}

// doStream is do for an answer too large to hold whole: a 2xx body is handed
// to read as it arrives, and read's errors are returned as they are.
func (c *Client) doStream(ctx context.Context, method, path string, body []byte, read func(io.Reader) error) error {
	target := c.base + path
	var readErr error
	resp, err := httpretry.DoStream(ctx, c.hc, c.retry, cursorhttp.Request(method, target, body, "application/json", c.userAgent, c.auth),
		func(r io.Reader) error { readErr = read(r); return readErr })
	switch {
	case err != nil && err == readErr:
		return err
	case err != nil:
		return cursorhttp.TransportError(ctx, err)
	}
	return c.refusal(resp, path, target)
}

// auth sets the Admin API's Basic credentials: the key as user, no password.
func (c *Client) auth(req *http.Request) { req.SetBasicAuth(c.key, "") }
