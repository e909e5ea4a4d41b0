package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Error bodies of POST /teams/remove-member (docs/cursor-api.md §2.2). The docs
// give no status codes; all are 400 here. The last two texts are the
// documented rules, used as messages.
var (
	bodyRemoveNeither   = []byte(`{"error":"Either userId or email must be provided"}`)
	bodyRemoveBoth      = []byte(`{"error":"Only one of userId or email should be provided, not both"}`)
	bodyRemoveNotMember = []byte(`{"error":"User is not a member of this team"}`)
	bodyRemoveLastAdmin = []byte(`{"error":"At least one admin (owner or free-owner) must remain on the team after removal"}`)
	bodyRemoveLastPaid  = []byte(`{"error":"At least one paid member must remain on the team after removal"}`)
	bodyRemoveBadJSON   = []byte(`{"error":"Request body must be a JSON object"}`)
)

// serveRemoveMember is POST /teams/remove-member after serveAdmin's checks.
// The body names exactly one of userId (string, or a number for numeric
// ids) or email (case-insensitive). The member must be active; the team
// must keep an active admin (owner or free-owner) and an active paid member
// (owner or member). On success the row gets isRemoved: true.
func (t *Tenant) serveRemoveMember(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID any `json:"userId"`
		Email  any `json:"email"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err != nil || dec.Decode(&req) != nil {
		writeJSON(w, http.StatusBadRequest, bodyRemoveBadJSON)
		return
	}
	userID, ok1 := bodyString(req.UserID)
	email, ok2 := bodyString(req.Email)
	switch {
	case !ok1 || !ok2:
		writeJSON(w, http.StatusBadRequest, bodyRemoveBadJSON)
		return
	case userID == "" && email == "":
		writeJSON(w, http.StatusBadRequest, bodyRemoveNeither)
		return
	case userID != "" && email != "":
		writeJSON(w, http.StatusBadRequest, bodyRemoveBoth)
		return
	}
	numID, numErr := strconv.ParseInt(userID, 10, 64)

	t.mu.Lock()
	defer t.mu.Unlock()
	target, admins, paid := -1, 0, 0
	for i := range t.members {
		m := &t.members[i]
		if m.IsRemoved {
			continue
		}
		switch m.Role {
		case "owner":
			admins++
			paid++
		case "free-owner":
			admins++
		case "member":
			paid++
		}
		if target < 0 && (email != "" && strings.EqualFold(m.Email, email) ||
			userID != "" && idMatches(m.ID, userID, numID, numErr == nil)) {
			target = i
		}
	}
	if target < 0 {
		writeJSON(w, http.StatusBadRequest, bodyRemoveNotMember)
		return
	}
	m := &t.members[target]
	isAdmin := m.Role == "owner" || m.Role == "free-owner"
	isPaid := m.Role == "owner" || m.Role == "member"
	switch {
	case isAdmin && admins == 1:
		writeJSON(w, http.StatusBadRequest, bodyRemoveLastAdmin)
		return
	case isPaid && paid == 1:
		writeJSON(w, http.StatusBadRequest, bodyRemoveLastPaid)
		return
	}
	m.IsRemoved = true
	t.invalidateLocked()

	resp, _ := json.Marshal(struct { // strings and a bool: cannot fail
		Success              bool   `json:"success"`
		UserID               string `json:"userId"`
		HasBillingCycleUsage bool   `json:"hasBillingCycleUsage"`
	}{true, idString(m.ID), t.gen.hasBillingCycleUsage(target)})
	writeJSON(w, http.StatusOK, resp)
}

// bodyString reads a JSON string or number field; absent and null are "".
func bodyString(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

func idMatches(id any, want string, wantNum int64, isNum bool) bool {
	switch v := id.(type) {
	case string:
		return v == want
	case int64:
		return isNum && v == wantNum
	case int:
		return isNum && int64(v) == wantNum
	}
	return idString(id) == want
}

func idString(id any) string {
	if s, ok := id.(string); ok {
		return s
	}
	return string(appendID(nil, id))
}

// hasBillingCycleUsage is a fixed coin flip per row and seed.
func (g generator) hasBillingCycleUsage(row int) bool {
	return splitmix(g.seed^0xb111_b111_b111_b111+uint64(row))&1 == 1
}
