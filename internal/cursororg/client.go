// Package cursororg is a client for Cursor's Organization API
// (/organizations/*, docs/cursor-api.md §6): the organization's members with
// their team roles and organization role, organization groups and their
// members, team membership moves and the organization audit log.
//
// It authenticates with an Organization API key (HTTP Basic, the key as user
// name), a different kind of key from the team Admin API key: each is refused
// on the other's routes with 401 (§1.1). It shares the team client's retry
// rules (httpretry) and paces itself under the documented 20 requests a
// minute per key (package pace). Errors carry gRPC codes and name the
// setting to fix, never the key.
package cursororg

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
	"github.com/conductorone/baton-cursor/internal/httpretry"
	"github.com/conductorone/baton-cursor/internal/pace"
)

// Setting and EnvVar name the Organization API key in every message.
const (
	Setting = "cursor-org-api-key"
	EnvVar  = "BATON_CURSOR_ORG_API_KEY"
)

// RateLimit is Cursor's documented limit for organization routes: 20
// requests a minute (docs/cursor-api.md §3.1). Whether it is counted per key, per
// route or per organization is not documented (§8.5); we assume per key and
// pace every route of one Client together, which is safe under all three.
const RateLimit = 20

// Config configures a Client. Only APIKey is required.
type Config struct {
	BaseURL    string       // default cursorhttp.AdminAPI
	APIKey     string       // an Organization API key
	HTTPClient *http.Client // default cursorhttp.NewHTTPClient(); its Transport is wrapped by the pacer
	Retry      httpretry.Policy
	UserAgent  string      // default "baton-cursor"
	Pacer      *pace.Pacer // default pace.New(RateLimit, time.Minute); share one per key
}

// Client calls the Organization API. It is safe for concurrent use.
type Client struct {
	base      string
	key       string
	hc        *http.Client
	retry     httpretry.Policy
	userAgent string
	pacer     *pace.Pacer
}

// New validates cfg without sending anything; its errors are InvalidArgument
// statuses naming the setting.
func New(cfg Config) (*Client, error) {
	if err := checkKey(cfg.APIKey); err != nil {
		return nil, err
	}
	base := cursorhttp.AdminAPI
	if cfg.BaseURL != "" {
		b, why := cursorhttp.BaseURL(cfg.BaseURL)
		if why != "" {
			return nil, status.Errorf(codes.InvalidArgument, "cursor-base-url %s; expected something like %s", why, cursorhttp.AdminAPI)
		}
		base = b
	}
	p := cfg.Pacer
	if p == nil {
		p = pace.New(RateLimit, time.Minute)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = cursorhttp.NewHTTPClient()
	}
	paced := *hc // a copy: the caller's client keeps its own transport
	paced.Transport = p.Transport(hc.Transport)
	c := &Client{base: base, key: cfg.APIKey, hc: &paced, retry: cfg.Retry, userAgent: cfg.UserAgent, pacer: p}
	c.retry.Wait = p.RetryWait(cfg.Retry.Wait)
	if c.userAgent == "" {
		c.userAgent = "baton-cursor"
	}
	return c, nil
}

// Pacer is the client's pacer: its Requests count is the request count a
// sync logs, and its Next says when the next request could go.
func (c *Client) Pacer() *pace.Pacer { return c.pacer }

func checkKey(key string) error {
	switch {
	case strings.TrimSpace(key) == "":
		return status.Errorf(codes.InvalidArgument, "%s is empty: set it (%s) to an Organization API key from the organization's dashboard → API Keys", Setting, EnvVar)
	case strings.TrimSpace(key) != key:
		return status.Errorf(codes.InvalidArgument, "%s has leading or trailing whitespace: remove it (the key is not shown here)", Setting)
	case strings.IndexFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return status.Errorf(codes.InvalidArgument, "%s contains whitespace or control characters: paste the key again (the key is not shown here)", Setting)
	case strings.Contains(key, ":"):
		return status.Errorf(codes.InvalidArgument, "%s contains ':': give the key alone, without the trailing ':' of curl's -u KEY: form (the key is not shown here)", Setting)
	}
	return nil
}

// do waits for a pacer slot, sends method base+path (JSON body when body is
// not nil) with retries, and decodes a 2xx answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return cursorhttp.Errorf(codes.Internal, "encoding the %s request: %w", path, err)
		}
	}
	if err := c.pacer.Wait(ctx); err != nil {
		return cursorhttp.TransportError(ctx, err)
	}
	target := c.base + path
	resp, err := httpretry.Do(ctx, c.hc, c.retry, cursorhttp.Request(method, target, raw, "application/json", c.userAgent, c.auth))
	route, _, _ := strings.Cut(path, "?")
	if err != nil {
		return cursorhttp.TransportError(ctx, err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return newAPIError(resp, route, c.key)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		// The error text can quote body content (personal data): keep its kind and size only.
		return cursorhttp.Errorf(codes.Internal, "Cursor returned a %s response of an unexpected shape (%d bytes): %s", route, len(resp.Body), decodeErrorKind(err))
	}
	return nil
}

func decodeErrorKind(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "not valid JSON"
	case errors.As(err, &typ):
		return typ.Field + " is a JSON " + typ.Value + ", expected " + typ.Type.String()
	}
	return "unexpected JSON"
}

// auth sets the Admin API's Basic credentials: the key as user, no password.
func (c *Client) auth(req *http.Request) { req.SetBasicAuth(c.key, "") }
