package simulator

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

const (
	pathMembers      = "/teams/members"
	pathRemoveMember = "/teams/remove-member"
	pathRequests     = "/_simulator/requests"
	pathFirstLogin   = "/_simulator/first-login"
	pathSCIM         = "/scim/v2"
)

func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch path {
	case pathRequests:
		t.serveRequestCounts(w, r)
		return
	case pathFirstLogin:
		t.serveFirstLogin(w, r)
		return
	}
	key := requestKey(r.Method, path)
	t.mu.Lock()
	t.requests[key]++
	latency := t.faults.Latency
	t.mu.Unlock()
	if latency > 0 && !wait(r, latency) {
		return // the client gave up; nobody reads an answer
	}

	switch {
	case path == pathMembers:
		if r.Method != http.MethodGet {
			w.Header()["Allow"] = []string{http.MethodGet}
			writeJSON(w, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
			return
		}
		t.serveAdmin(w, r, func(w http.ResponseWriter, f Faults) { t.serveMembers(w, r, f) })
	case path == pathRemoveMember:
		if r.Method != http.MethodPost {
			w.Header()["Allow"] = []string{http.MethodPost}
			writeJSON(w, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
			return
		}
		t.serveAdmin(w, r, func(w http.ResponseWriter, _ Faults) { t.serveRemoveMember(w, r) })
	case isOrgPath(path):
		t.serveOrg(w, r)
	case isActivityPath(path):
		t.serveActivity(w, r)
	case key != path: // under /scim/v2
		t.serveSCIM(w, r)
	default:
		writeJSON(w, http.StatusNotFound, bodyNotFound)
	}
}

// serveAdmin runs the checks every Admin API route shares, in this order:
// rate limit (a per-team limiter sits in front of the app, so before auth),
// server errors, auth, plan, delay. Then serve answers.
func (t *Tenant) serveAdmin(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, Faults)) {
	if t.rateLimited(w) {
		return
	}
	t.mu.Lock()
	f := t.faults
	status := 0
	switch {
	case t.rateLeft > 0:
		t.rateLeft--
		status = http.StatusTooManyRequests
	case t.serverLeft == -1:
		status = http.StatusInternalServerError
	case t.serverLeft > 0:
		t.serverLeft--
		status = http.StatusServiceUnavailable
	}
	t.mu.Unlock()

	switch status {
	case http.StatusTooManyRequests:
		setRetryAfter(w, f.RetryAfter)
		writeJSON(w, status, bodyTooManyRequests)
		return
	case http.StatusInternalServerError:
		setRetryAfter(w, f.ServerRetryAfter)
		writeJSON(w, status, bodyInternal)
		return
	case http.StatusServiceUnavailable:
		setRetryAfter(w, f.ServerRetryAfter)
		writeJSON(w, status, bodyUnavailable)
		return
	}
	if !t.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, bodyUnauthorized)
		return
	}
	if t.businessPlan {
		writeJSON(w, http.StatusForbidden, bodyForbidden)
		return
	}
	if f.Delay > 0 && t.takeDelay() {
		timer := time.NewTimer(f.Delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return // the client gave up; nobody reads an answer
		}
	}
	serve(w, f)
}

// wait sleeps d, or less when the client goes away first (then it reports false).
func wait(r *http.Request, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// authorized accepts Basic with the key as username and an empty password
// (the documented scheme) or Bearer with the key.
func (t *Tenant) authorized(r *http.Request) bool {
	if user, pass, ok := r.BasicAuth(); ok {
		return pass == "" && subtle.ConstantTimeCompare([]byte(user), []byte(t.apiKey)) == 1
	}
	auth := r.Header.Get("Authorization")
	if len(auth) > 7 && strings.EqualFold(auth[:7], "Bearer ") {
		return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth[7:])), []byte(t.apiKey)) == 1
	}
	return false
}

func (t *Tenant) serveRequestCounts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header()["Allow"] = []string{http.MethodGet}
		writeJSON(w, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
		return
	}
	t.mu.Lock()
	body, err := json.Marshal(t.requests)
	t.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, bodyInternal)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// takeDelay reports whether this request is one of the slow ones.
func (t *Tenant) takeDelay() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.faults.DelayedRequests == 0:
		return true
	case t.delayLeft > 0:
		t.delayLeft--
		return true
	}
	return false
}
