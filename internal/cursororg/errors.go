package cursororg

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
	"github.com/conductorone/baton-cursor/internal/httpretry"
)

// APIError is a non-2xx answer. Organization routes answer
// {"code":"error","message":…} (docs/cursor-api.md §3.2, §6.1), except the 404
// {"error":"Organization not found"} and the API-wide 429 envelope; all
// three shapes are read, and the HTTP status decides the code.
type APIError struct {
	Status   int
	Message  string // "message", else "error"; cleaned and capped, the key redacted
	Path     string // the route, without its query
	Attempts int

	resetAt time.Time // 429 only
}

func newAPIError(resp *httpretry.Response, path, key string) *APIError {
	var env struct{ Error, Message json.RawMessage }
	_ = json.Unmarshal(resp.Body, &env) // an unreadable body leaves the texts empty; the status still speaks
	msg := cursorhttp.ServerText(env.Message, key)
	if msg == "" {
		msg = cursorhttp.ServerText(env.Error, key)
	}
	e := &APIError{Status: resp.Status, Message: msg, Path: path, Attempts: resp.Attempts}
	if resp.Status == http.StatusTooManyRequests {
		e.resetAt = cursorhttp.RateLimitReset(resp.Header)
	}
	return e
}

// ManagedByIdentityProvider says whether Cursor refused a write because the
// group or team is synced from a SCIM directory. Cursor documents that such
// groups refuse API writes (§2.10, §4.5) but not the status or wording; the
// customer runbook (§4.6) quotes "…managed by your SCIM directory. Add or
// remove members through your identity provider.", so we look for those words.
func (e *APIError) ManagedByIdentityProvider() bool {
	m := strings.ToLower(e.Message)
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusUnauthorized &&
		(strings.Contains(m, "scim") || strings.Contains(m, "identity provider"))
}

func (e *APIError) describe() (codes.Code, string) {
	sum := fmt.Sprintf("HTTP %d", e.Status)
	if e.Message != "" {
		sum += ": " + e.Message
	}
	switch s := e.Status; {
	case s == http.StatusUnauthorized && strings.Contains(strings.ToLower(e.Message), "scope"):
		return codes.PermissionDenied, fmt.Sprintf("the Organization API key lacks a scope %s needs (%s); give %s (%s) a key with the members:* or admin:* scope", e.Path, sum, Setting, EnvVar)
	case s == http.StatusUnauthorized:
		// Cursor answers 401 for a wrong, revoked or expired organization key
		// and for a team Admin API key sent to an organization route (§1.1, §1.2).
		return codes.Unauthenticated, fmt.Sprintf("the Organization API key was rejected (%s); check %s (%s): it must be an unexpired Organization API key, not a team Admin API key", sum, Setting, EnvVar)
	case e.ManagedByIdentityProvider():
		return codes.FailedPrecondition, fmt.Sprintf("Cursor refused %s (%s): this membership is managed by the identity provider through SCIM; change it there", e.Path, sum)
	case s == http.StatusForbidden:
		return codes.PermissionDenied, fmt.Sprintf("Cursor refused %s (%s): the Organization API needs an Enterprise organization, and the key must belong to the organization asked about", e.Path, sum)
	case s == http.StatusNotFound:
		return codes.NotFound, fmt.Sprintf("Cursor has no %s (%s); check cursor-base-url and that %s belongs to an organization", e.Path, sum, Setting)
	case s == http.StatusTooManyRequests:
		return codes.Unavailable, fmt.Sprintf("Cursor rate-limited %s (HTTP 429) after %s; the organization limit is %d requests a minute", e.Path, httpretry.Plural(e.Attempts, "attempt"), RateLimit)
	case s >= 500:
		return codes.Unavailable, fmt.Sprintf("Cursor failed (%s) on %s after %s", sum, e.Path, httpretry.Plural(e.Attempts, "attempt"))
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		return codes.InvalidArgument, fmt.Sprintf("Cursor rejected %s (%s)", e.Path, sum)
	}
	return codes.FailedPrecondition, fmt.Sprintf("Cursor rejected %s (%s)", e.Path, sum)
}

func (e *APIError) Error() string {
	_, msg := e.describe()
	return msg
}

// GRPCStatus gives status.Code the right code; a 429 carries the
// RateLimitDescription baton-sdk's retry waits by.
func (e *APIError) GRPCStatus() *status.Status {
	code, msg := e.describe()
	return cursorhttp.Status(code, msg, e.Status, e.resetAt)
}
