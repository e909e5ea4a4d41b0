package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
	"github.com/conductorone/baton-cursor/internal/httpretry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a non-2xx answer from the SCIM endpoint. The HTTP status is
// authoritative; the body's "status" (a string per RFC 7644 §3.12, a number
// on some servers) is not used. ScimType and Detail come from the SCIM error
// body, cleaned of control characters, capped and with the token redacted.
type Error struct {
	Status   int
	ScimType string // e.g. "uniqueness", "invalidFilter"
	Detail   string // "detail", or a non-standard "message" when detail is absent
	Method   string
	Path     string // relative to the base URL: "/Users" or "/Users/{escaped id}"
	Attempts int
	Elapsed  time.Duration

	url     string    // base URL + Path, for the 404-on-collection message
	resetAt time.Time // 429 only
}

func newError(resp *httpretry.Response, method, path, target, token string) *Error {
	e := &Error{Status: resp.Status, Method: method, Path: path, Attempts: resp.Attempts, Elapsed: resp.Elapsed, url: target}
	var env struct {
		ScimType, Detail, Message json.RawMessage
	}
	_ = json.Unmarshal(resp.Body, &env) // anything else (HTML, empty) leaves the fields empty
	e.ScimType, e.Detail = cursorhttp.ServerText(env.ScimType, token), cursorhttp.ServerText(env.Detail, token)
	if e.Detail == "" {
		e.Detail = cursorhttp.ServerText(env.Message, token)
	}
	if resp.Status == http.StatusTooManyRequests {
		e.resetAt = cursorhttp.RateLimitReset(resp.Header)
	}
	return e
}

// item says whether Path names one user rather than the collection.
func (e *Error) item() bool { return strings.HasPrefix(e.Path, usersPath+"/") }

// summary is "HTTP 400", "HTTP 400 invalidFilter" or "HTTP 400 invalidFilter: detail".
func (e *Error) summary() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *Error) describe() (codes.Code, string) {
	sum, req := e.summary(), e.Method+" "+e.Path
	switch s := e.Status; {
	case s == http.StatusUnauthorized:
		return codes.Unauthenticated, fmt.Sprintf("Cursor's SCIM endpoint rejected the token (%s); check cursor-scim-token (BATON_CURSOR_SCIM_TOKEN): generate it in the Cursor dashboard's SCIM setup", sum)
	case s == http.StatusForbidden:
		return codes.PermissionDenied, fmt.Sprintf("Cursor's SCIM endpoint refused %s (%s): SCIM needs a Cursor Enterprise plan and an active SSO connection, and cursor-scim-token must be the token of this endpoint", req, sum)
	case s == http.StatusNotFound && e.item():
		return codes.NotFound, fmt.Sprintf("Cursor's SCIM endpoint has no user at %s (%s)", e.Path, sum)
	case s == http.StatusNotFound:
		return codes.FailedPrecondition, fmt.Sprintf("no SCIM endpoint at %s (%s); check cursor-scim-url (BATON_CURSOR_SCIM_URL): copy the SCIM base URL from the Cursor dashboard's SCIM setup", e.url, sum)
	case s == http.StatusConflict && e.Method == http.MethodPost:
		return codes.AlreadyExists, fmt.Sprintf("Cursor's SCIM endpoint refused %s: a user with this userName already exists (%s)", req, sum)
	case s == http.StatusConflict:
		return codes.AlreadyExists, fmt.Sprintf("Cursor's SCIM endpoint refused %s because of a conflict (%s)", req, sum)
	case s == http.StatusTooManyRequests && e.Attempts > 1:
		return codes.Unavailable, fmt.Sprintf("Cursor's SCIM endpoint kept rate-limiting %s (%s) after %s over %s; try again in a minute", req, sum, httpretry.Plural(e.Attempts, "attempt"), httpretry.RoundElapsed(e.Elapsed))
	case s == http.StatusTooManyRequests:
		return codes.Unavailable, fmt.Sprintf("Cursor's SCIM endpoint rate-limited %s (%s); try again in a minute", req, sum)
	case s == http.StatusNotImplemented:
		return codes.Unimplemented, fmt.Sprintf("Cursor's SCIM endpoint does not support %s (%s)", req, sum)
	case s >= 500 && e.Attempts > 1:
		return codes.Unavailable, fmt.Sprintf("Cursor's SCIM endpoint kept failing %s (%s) after %s over %s", req, sum, httpretry.Plural(e.Attempts, "attempt"), httpretry.RoundElapsed(e.Elapsed))
	case s >= 500:
		return codes.Unavailable, fmt.Sprintf("Cursor's SCIM endpoint failed %s (%s)", req, sum)
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		return codes.InvalidArgument, fmt.Sprintf("Cursor's SCIM endpoint rejected %s (%s)", req, sum)
	case s >= 400:
		return codes.FailedPrecondition, fmt.Sprintf("Cursor's SCIM endpoint rejected %s (%s)", req, sum)
	}
	return codes.Internal, fmt.Sprintf("Cursor's SCIM endpoint answered %s with an unexpected HTTP %d", req, e.Status)
}

func (e *Error) Error() string {
	_, msg := e.describe()
	return msg
}

// GRPCStatus lets status.Code and status.FromError see the right code. A 429
// carries a RateLimitDescription so baton-sdk's retry waits for the window.
func (e *Error) GRPCStatus() *status.Status {
	code, msg := e.describe()
	return cursorhttp.Status(code, msg, e.Status, e.resetAt)
}

// IsNotFound reports a 404 for one user (/Users/{id}): callers treat it as
// already gone. A 404 on /Users means a wrong base URL and is not "not found".
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound && e.item()
}

// IsConflict reports a 409 (scimType "uniqueness" on create): callers treat
// it as "already exists".
func IsConflict(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusConflict
}
