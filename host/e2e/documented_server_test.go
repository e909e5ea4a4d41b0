//go:build linux

// Any server speaking the documented GET /teams/members, not only our simulator.

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
)

// documentedRoster is what any server speaking the documented
// GET /teams/members (docs/cursor-api.md §2.1) may send: ids as strings and as
// numbers (one beyond float64's precision), unknown fields of every JSON
// type, unicode, emoji, quotes, escapes, an empty name, one name on two
// people, a row without an email, and emails repeated in other letter cases:
// removed then active (the active row wins), two removed and two active
// (Cursor's first row wins).
const documentedRoster = `{"teamMembers":[
 {"id":"user_3fKq9ZbT1mWcYp0aLxRv7sHdEe","name":"Dana Levi","email":"Dana.Levi@Example.COM","role":"owner","isRemoved":false,"user_id":501,"seat":{"type":"enterprise","since":"2026-01-01","flags":[true,null]}},
 {"id":12345,"name":"","email":"no.name@example.com","role":"member","isRemoved":false},
 {"id":"user_Zoe","name":"Zoë \"Z\" Ødegård 🚀","email":"zoe@example.com","role":"member","isRemoved":false,"tags":["a",1,null,{"b":[]}]},
 {"id":"user_PatOld","name":"Pat (old account)","email":"PAT@example.com","role":"member","isRemoved":true},
 {"id":9007199254740993,"name":"Pat Active","email":"pat@example.com","role":"free-owner","isRemoved":false},
 {"id":"user_LeeFirst","name":"Lee First","email":"lee@example.com","role":"owner","isRemoved":true},
 {"id":"user_LeeSecond","name":"Lee Second","email":"Lee@Example.com","role":"member","isRemoved":true},
 {"id":"user_KimFirst","name":"Kim First","email":"KIM@example.com","role":"member","isRemoved":false},
 {"id":"user_KimSecond","name":"Kim Second","email":"kim@example.com","role":"owner","isRemoved":false},
 {"id":"user_Alex1","name":"Alex Kim","email":"alex.kim.1@example.com","role":"member","isRemoved":false},
 {"id":"user_Alex2","name":"Alex Kim","email":"alex.kim.2@example.com","role":"member","isRemoved":false},
 {"id":"user_NoEmail","name":"No Email","email":"","role":"member","isRemoved":false},
 {"id":"user_Renee","name":"Ren\u00e9e O'Brien-Smith \\o/","email":"renee@example.com","role":"billing-admin","isRemoved":false,"lastSeen":1.5e9}
],"nextCursor":null,"apiVersion":"2026-08"}`

// fxWantUser is one expected account of documentedRoster.
type fxWantUser struct {
	name, email, cursorID, role string
	removed                     bool
}

var documentedRosterWant = map[string]fxWantUser{
	"dana.levi@example.com":  {"Dana Levi", "Dana.Levi@Example.COM", "user_3fKq9ZbT1mWcYp0aLxRv7sHdEe", "owner", false},
	"no.name@example.com":    {"no.name@example.com", "no.name@example.com", "12345", "member", false},
	"zoe@example.com":        {`Zoë "Z" Ødegård 🚀`, "zoe@example.com", "user_Zoe", "member", false},
	"pat@example.com":        {"Pat Active", "pat@example.com", "9007199254740993", "free-owner", false},
	"lee@example.com":        {"Lee First", "lee@example.com", "user_LeeFirst", "owner", true},
	"kim@example.com":        {"Kim First", "KIM@example.com", "user_KimFirst", "member", false},
	"alex.kim.1@example.com": {"Alex Kim", "alex.kim.1@example.com", "user_Alex1", "member", false},
	"alex.kim.2@example.com": {"Alex Kim", "alex.kim.2@example.com", "user_Alex2", "member", false},
	"renee@example.com":      {`Renée O'Brien-Smith \o/`, "renee@example.com", "user_Renee", "billing-admin", false},
}

// fxDocumentedServer serves body as GET /teams/members to Basic auth with
// key (and an empty password), like Cursor; it counts every request.
func fxDocumentedServer(t *testing.T, key, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == membersPath { // the count is of roster fetches; activity routes get a 404
			n.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		user, pass, ok := r.BasicAuth()
		switch {
		case r.URL.Path != membersPath || r.Method != http.MethodGet:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"Not Found","message":"Resource not found"}`)
		case !ok || user != key || pass != "":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"statusCode":401,"error":"Unauthorized","message":"Invalid API key"}`)
		default:
			fmt.Fprint(w, body)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// Any server that speaks the documented GET /teams/members works, and the
// awkward rows land as README says.
func TestSyncAnyDocumentedServer(t *testing.T) {
	t.Parallel()
	if !json.Valid([]byte(documentedRoster)) {
		t.Fatal("documentedRoster is not valid JSON")
	}
	srv, requests := fxDocumentedServer(t, testKey(), documentedRoster)
	r, c1z := fxSync(t, srv.URL, 60*time.Second)
	fxRequireExit(t, r, 0)
	if n := requests.Load(); n != 1 {
		t.Errorf("requests: %d, want exactly 1", n)
	}
	// What the person is told about the odd rows.
	requireLine(t, "sync", r, "3 roster rows repeat another row's email")
	requireLine(t, "sync", r, "1 roster rows have no email")
	requireLine(t, "sync", r, "billing-admin")

	c := fxRead(t, c1z)
	users := c.OfType("user")
	if len(users) != len(documentedRosterWant) {
		t.Errorf("users: %d, want %d (one per email, the row without one skipped)", len(users), len(documentedRosterWant))
	}
	for _, u := range users {
		id := u.GetId().GetResource()
		want, ok := documentedRosterWant[id]
		if !ok {
			t.Errorf("unexpected user %q", id)
			continue
		}
		if got := u.GetDisplayName(); got != want.name {
			t.Errorf("%s: display name %q, want %q", id, got, want.name)
		}
		ut, err := rs.GetUserTrait(u)
		if err != nil {
			t.Errorf("%s: no user trait: %v", id, err)
			continue
		}
		if em := ut.GetEmails(); len(em) != 1 || em[0].GetAddress() != want.email {
			t.Errorf("%s: emails %v, want %q as the winning row sent it", id, em, want.email)
		}
		prof := u.GetProfile().GetFields()
		if got := prof["cursor_id"].GetStringValue(); got != want.cursorID {
			t.Errorf("%s: cursor_id %q, want %q", id, got, want.cursorID)
		}
		if got := prof["role"].GetStringValue(); got != want.role {
			t.Errorf("%s: role %q, want %q", id, got, want.role)
		}
		disabled := u.GetStatus().GetStatus() == v2.Status_RESOURCE_STATUS_DISABLED
		if disabled != want.removed || prof["removed"].GetBoolValue() != want.removed {
			t.Errorf("%s: disabled %v, profile removed %v; want %v", id, disabled, prof["removed"], want.removed)
		}
	}
	roles := map[string]bool{}
	for _, r := range c.OfType("role") {
		roles[r.GetId().GetResource()] = true
	}
	if len(roles) != 4 || !roles["owner"] || !roles["member"] || !roles["free-owner"] || !roles["billing-admin"] {
		t.Errorf("roles %v, want owner, member, free-owner, billing-admin", keys(roles))
	}
	gotGrants := map[string]string{}
	for _, g := range c.Grants {
		gotGrants[g.GetPrincipal().GetId().GetResource()] = g.GetEntitlement().GetId()
	}
	for id, want := range documentedRosterWant {
		got, ok := gotGrants[id]
		switch {
		case want.removed && ok:
			t.Errorf("removed %s holds %s", id, got)
		case !want.removed && got != "role:"+want.role+":assigned":
			t.Errorf("%s: grant %q, want role:%s:assigned", id, got, want.role)
		}
	}
	if len(c.Grants) != 8 {
		t.Errorf("grants: %d, want 8 (one per active account)", len(c.Grants))
	}
}

// --- process side ---

var (
	v2PluginOnce sync.Once
	v2PluginBin  string
	v2PluginErr  error
)
