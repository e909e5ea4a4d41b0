package cursorapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
	"github.com/conductorone/baton-cursor/internal/httpretry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// APIError is a non-2xx answer from Cursor. The HTTP status is authoritative;
// the text fields are whatever the error envelope held (docs/cursor-api.md §3.2),
// cleaned of control characters and capped. The envelope's "error" field is
// Reason because Go forbids a field named Error beside the Error method.
type APIError struct {
	Status   int
	Reason   string // "error": usually the reason phrase ("Unauthorized"), sometimes the only text
	Message  string // "message"
	Code     string // "code" (e.g. "error" on model-access and Organization routes)
	Outcome  string // "outcome" (e.g. "error" on user-spend-limit)
	Path     string // e.g. "/teams/members"
	URL      string // the full URL requested
	Attempts int
	Elapsed  time.Duration
	BodySize int

	notJSON bool      // the body was empty or not a JSON object
	resetAt time.Time // 429 only: when Cursor's per-minute window should allow us again
}

func newAPIError(resp *httpretry.Response, path, target, key string) *APIError {
	e := &APIError{Status: resp.Status, Path: path, URL: target, Attempts: resp.Attempts, Elapsed: resp.Elapsed, BodySize: len(resp.Body)}
	var env struct {
		Error, Message, Code, Outcome json.RawMessage
	}
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		e.notJSON = true
	}
	e.Reason, e.Message = cursorhttp.ServerText(env.Error, key), cursorhttp.ServerText(env.Message, key)
	e.Code, e.Outcome = cursorhttp.ServerText(env.Code, key), cursorhttp.ServerText(env.Outcome, key)
	if resp.Status == http.StatusTooManyRequests {
		e.resetAt = cursorhttp.RateLimitReset(resp.Header)
	}
	return e
}

// summary is "HTTP 403: Enterprise access required", falling back to the
// reason phrase and saying what the body looked like when it had no text.
func (e *APIError) summary() string {
	text := e.Message
	if text == "" {
		text = e.Reason
	}
	if text != "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, text)
	}
	s := fmt.Sprintf("HTTP %d: %s", e.Status, http.StatusText(e.Status))
	switch {
	case e.BodySize == 0:
		s += ", empty body"
	case e.notJSON:
		s += fmt.Sprintf(", non-JSON body of %d bytes", e.BodySize)
	}
	return s
}

func (e *APIError) describe() (codes.Code, string) {
	sum := e.summary()
	switch s := e.Status; {
	case s == http.StatusUnauthorized:
		return codes.Unauthenticated, fmt.Sprintf("Cursor rejected the API key (%s); check cursor-api-key (BATON_CURSOR_API_KEY): it must be a team Admin API key from cursor.com/dashboard → API Keys", sum)
	case s == http.StatusForbidden:
		return codes.PermissionDenied, fmt.Sprintf("Cursor refused the Admin API (%s): the Admin API needs a Cursor Enterprise plan and an Admin API key with the admin:* scope", sum)
	case s == http.StatusNotFound:
		return codes.NotFound, fmt.Sprintf("Cursor has no %s (%s); check cursor-base-url (got %s)", e.Path, sum, e.URL)
	case s == http.StatusTooManyRequests && e.Attempts > 1:
		return codes.Unavailable, fmt.Sprintf("Cursor kept rate-limiting %s (HTTP 429) after %s; try again in a minute", e.Path, httpretry.Plural(e.Attempts, "attempt"))
	case s == http.StatusTooManyRequests:
		return codes.Unavailable, fmt.Sprintf("Cursor rate-limited %s (HTTP 429); try again in a minute", e.Path)
	case s >= 500 && e.Attempts > 1:
		return codes.Unavailable, fmt.Sprintf("Cursor kept failing (%s) after %s over %s", sum, httpretry.Plural(e.Attempts, "attempt"), httpretry.RoundElapsed(e.Elapsed))
	case s >= 500:
		return codes.Unavailable, fmt.Sprintf("Cursor failed (%s) on %s", sum, e.Path)
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		return codes.InvalidArgument, fmt.Sprintf("Cursor rejected %s (%s)", e.Path, sum)
	case s >= 400:
		return codes.FailedPrecondition, fmt.Sprintf("Cursor rejected %s (%s)", e.Path, sum)
	}
	return codes.Internal, fmt.Sprintf("Cursor answered %s with an unexpected HTTP %d", e.Path, e.Status)
}

func (e *APIError) Error() string {
	_, msg := e.describe()
	return msg
}

// GRPCStatus lets status.Code and status.FromError see the right code. A 429
// carries a RateLimitDescription so baton-sdk's retry waits for the window.
func (e *APIError) GRPCStatus() *status.Status {
	code, msg := e.describe()
	return cursorhttp.Status(code, msg, e.Status, e.resetAt)
}
