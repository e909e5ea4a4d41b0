package scim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/httpretry"
	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRequestHeadersAndPaths(t *testing.T) {
	srv, log := fake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodPost:
			reply(201, userJSON("id1", "a@example.com"))(w, r)
		case r.Method == http.MethodGet && r.URL.Path == prefix+"/Users":
			reply(200, `{"totalResults":0,"Resources":[]}`)(w, r)
		default:
			reply(200, userJSON("id1", "a@example.com"))(w, r)
		}
	})
	c, err := New(Config{BaseURL: srv.URL + prefix + "/", Token: testToken, UserAgent: "baton-cursor-plugin/1.2.3",
		Retry: httpretry.Policy{Wait: (&recorder{}).Wait}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := []struct {
		method, path string
		withBody     bool
		call         func() error
	}{
		{"GET", prefix + "/Users", false, func() error { _, err := c.FindByUserName(ctx, "a@example.com"); return err }},
		{"GET", prefix + "/Users", false, func() error { _, err := c.ListUsers(ctx); return err }},
		{"POST", prefix + "/Users", true, func() error { _, err := c.Create(ctx, User{UserName: "a@example.com"}); return err }},
		{"DELETE", prefix + "/Users/id1", false, func() error { return c.Delete(ctx, "id1") }},
	}
	for i, tc := range calls {
		if err := tc.call(); err != nil {
			t.Fatalf("call %d (%s %s): %v", i, tc.method, tc.path, err)
		}
		got := log.last(t)
		if log.n() != i+1 {
			t.Fatalf("requests = %d after call %d", log.n(), i)
		}
		if got.Method != tc.method || got.EscapedPath != tc.path {
			t.Errorf("request = %s %s, want %s %s", got.Method, got.EscapedPath, tc.method, tc.path)
		}
		if h := got.Header["Authorization"]; !reflect.DeepEqual(h, []string{"Bearer " + testToken}) {
			t.Errorf("%s Authorization = %q", tc.method, h)
		}
		if h := got.Header["Accept"]; !reflect.DeepEqual(h, []string{"application/scim+json"}) {
			t.Errorf("%s Accept = %q", tc.method, h)
		}
		wantCT := []string(nil)
		if tc.withBody {
			wantCT = []string{"application/scim+json"}
		}
		if h := got.Header["Content-Type"]; !reflect.DeepEqual(h, wantCT) {
			t.Errorf("%s Content-Type = %q, want %q", tc.method, h, wantCT)
		}
		if (got.Body != "") != tc.withBody {
			t.Errorf("%s body = %q", tc.method, got.Body)
		}
		if ua := got.Header.Get("User-Agent"); ua != "baton-cursor-plugin/1.2.3" {
			t.Errorf("User-Agent = %q", ua)
		}
	}
}

func TestNewRejectsBadURLsBeforeAnyRequest(t *testing.T) {
	srv, log := fake(t, reply(200, `{"Resources":[]}`))
	host := strings.TrimPrefix(srv.URL, "http://")
	cases := map[string]string{
		"":                                      "is empty",
		host + "/scim/v2":                       "https://", // no scheme
		"scim.example.com/v2":                   "https://",
		"ftp://" + host:                         "https://",
		"https://":                              "has no host",
		"http://:8080/scim/v2":                  "has no host",
		"https:///scim/v2":                      "has no host",
		srv.URL + "/scim/v2?x=1":                "query or fragment",
		srv.URL + "/scim/v2?":                   "query or fragment",
		srv.URL + "/scim/v2#frag":               "query or fragment",
		"https://user:hunter2@scim.example/v2":  "user name or password",
		" " + srv.URL:                           "whitespace",
		"http://[::1":                           "is not a URL",
		"ftp://x.example/scim/" + testToken:     "https://", // a token pasted into the URL is redacted
		srv.URL + "/scim/v2?token=" + testToken: "[redacted]",
	}
	for raw, want := range cases {
		c, err := New(Config{BaseURL: raw, Token: testToken})
		if c != nil {
			t.Errorf("New(BaseURL %q) returned a client", raw)
		}
		requireCode(t, err, codes.InvalidArgument, "cursor-scim-url", want)
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error echoes a password: %v", err)
		}
	}
	if log.n() != 0 {
		t.Errorf("requests = %d, want 0", log.n())
	}
}

func TestNewRejectsBadTokensBeforeAnyRequest(t *testing.T) {
	srv, log := fake(t, reply(200, `{"Resources":[]}`))
	cases := map[string]string{
		"":                                       "is empty",
		" \t ":                                   "is empty",
		" " + testToken:                          "leading or trailing whitespace",
		testToken + "\n":                         "leading or trailing whitespace",
		"Bearer " + testToken:                    `starts with "Bearer "`,
		"bearer " + testToken:                    `starts with "Bearer "`,
		testToken[:30] + " " + testToken[30:]:    "whitespace or control characters",
		testToken[:30] + "\x00" + testToken[30:]: "whitespace or control characters",
		testToken[:30] + "\x7f" + testToken[30:]: "whitespace or control characters",
		testToken[:30] + "\u00a0" + testToken[30:]: "whitespace or control characters",
	}
	for token, want := range cases {
		c, err := New(Config{BaseURL: srv.URL + prefix, Token: token})
		if c != nil {
			t.Errorf("New(token %q) returned a client", token)
		}
		requireCode(t, err, codes.InvalidArgument, "cursor-scim-token", want)
	}
	if log.n() != 0 {
		t.Errorf("requests = %d, want 0", log.n())
	}
}

func TestFindByUserNameSendsExactFilter(t *testing.T) {
	cases := map[string]string{
		`a"b@x.com`:   `userName eq "a\"b@x.com"`,
		`a\b@x.com`:   `userName eq "a\\b@x.com"`,
		`x\"y@x.com`:  `userName eq "x\\\"y@x.com"`,
		`a+tag@x.com`: `userName eq "a+tag@x.com"`,
		`a&b=c@x.com`: `userName eq "a&b=c@x.com"`,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			srv, log := fake(t, listServer(t, []string{userJSON("u1", name), userJSON("u2", "other@x.com")}, listOpts{}))
			got, err := newClient(t, srv, &recorder{}).FindByUserName(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			req := log.last(t)
			if f := req.Query["filter"]; !reflect.DeepEqual(f, []string{want}) {
				t.Errorf("filter = %q, want %q", f, want)
			}
			if req.Query.Get("startIndex") != "1" || req.Query.Get("count") != "1000" {
				t.Errorf("query = %q, want startIndex=1 and count=1000", req.RawQuery)
			}
			if strings.Contains(req.RawQuery, "+") || !strings.Contains(req.RawQuery, "userName%20eq%20") {
				t.Errorf("raw query %q: spaces must be %%20 and '+' escaped", req.RawQuery)
			}
			if len(got) != 1 || got[0].ID != "u1" || got[0].UserName != name {
				t.Errorf("users = %+v, want u1 only", got)
			}
		})
	}
}

func TestFindByUserNameMatches(t *testing.T) {
	users := []string{userJSON("u1", "dana@x.com"), userJSON("u2", "DANA@X.com"), userJSON("u3", "erin@x.com")}
	cases := []struct {
		query string
		want  []string // ids
	}{
		{"zoe@x.com", nil},
		{"erin@x.com", []string{"u3"}},
		{"Dana@x.COM", []string{"u1", "u2"}}, // userName is case-insensitive
	}
	for _, opts := range []listOpts{{}, {ignoreFilter: true}} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s ignoreFilter=%v", tc.query, opts.ignoreFilter), func(t *testing.T) {
				srv, log := fake(t, listServer(t, users, opts))
				got, err := newClient(t, srv, &recorder{}).FindByUserName(context.Background(), tc.query)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, u := range got {
					ids = append(ids, u.ID)
				}
				if !reflect.DeepEqual(ids, tc.want) {
					t.Errorf("ids = %q, want %q", ids, tc.want)
				}
				if log.n() != 1 {
					t.Errorf("requests = %d, want 1", log.n())
				}
			})
		}
	}
}

func TestUserNameValidatedBeforeAnyRequest(t *testing.T) {
	srv, log := fake(t, reply(200, `{"Resources":[]}`))
	c := newClient(t, srv, &recorder{})
	for _, name := range []string{"", "  ", "a@x.com\n", "a\x00@x.com"} {
		_, err := c.FindByUserName(context.Background(), name)
		requireCode(t, err, codes.InvalidArgument, "userName")
		_, err = c.Create(context.Background(), User{UserName: name})
		requireCode(t, err, codes.InvalidArgument, "userName")
	}
	for _, id := range []string{"", ".", ".."} {
		requireCode(t, c.Delete(context.Background(), id), codes.InvalidArgument, "id")
	}
	if log.n() != 0 {
		t.Errorf("requests = %d, want 0", log.n())
	}
}

func TestDecodesVariantShapes(t *testing.T) {
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":4,"startIndex":1,"itemsPerPage":4,
	  "resources":[
	    {"id":"1","userName":"a@x.com","externalId":"ext-1","active":false,"name":{"givenName":"Ann","familyName":"Lee","formatted":"Ann Lee"},
	     "emails":[{"value":"a@x.com","primary":true,"type":"work"},{"value":"a@home.example","primary":false}],"groups":[],"meta":{"version":"W/\"1\""}},
	    {"id":"2","userName":"b@x.com"},
	    {"id":"3","userName":"c@x.com","active":"False","name":null,"emails":[{"value":"c@x.com","primary":"true"}]},
	    {"id":"4","userName":"d@x.com","active":null,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D"}}
	  ],"unknownTopLevel":{"x":[1,2]}}`
	srv, _ := fake(t, reply(200, body, "Content-Type", "application/json; charset=utf-8"))
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []User{
		{ID: "1", UserName: "a@x.com", ExternalID: "ext-1", Active: false, GivenName: "Ann", FamilyName: "Lee",
			Emails: []Email{{Value: "a@x.com", Primary: true, Type: "work"}, {Value: "a@home.example"}}},
		{ID: "2", UserName: "b@x.com", Active: true}, // "active" absent counts as active
		{ID: "3", UserName: "c@x.com", Active: false, Emails: []Email{{Value: "c@x.com", Primary: true}}},
		{ID: "4", UserName: "d@x.com", Active: true}, // null means unassigned (RFC 7643 §2.5), like absent
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("users =\n%+v\nwant\n%+v", got, want)
	}
}

func TestMalformed2xxIsInternalWithoutBodyContent(t *testing.T) {
	const pii = "carol.private@example.com"
	cases := map[string]struct {
		ct, body, want string
	}{
		"not JSON":          {"application/scim+json", `<html>` + pii, "invalid JSON (syntax error at offset 1 of"},
		"cut JSON":          {"application/scim+json", `{"Resources":[{"userName":"` + pii, "invalid JSON"},
		"Resources object":  {"application/scim+json", `{"Resources":{"userName":"` + pii + `"}}`, "unexpected shape"},
		"active a number":   {"application/scim+json", `{"Resources":[{"userName":"` + pii + `","active":1}]}`, "unexpected shape"},
		"HTML content type": {"text/html; charset=utf-8", `{"Resources":[{"userName":"` + pii + `"}]}`, "Content-Type text/html, not JSON"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv, log := fake(t, reply(200, tc.body, "Content-Type", tc.ct))
			_, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
			requireCode(t, err, codes.Internal, tc.want)
			if strings.Contains(err.Error(), "carol") || strings.Contains(err.Error(), "html>") {
				t.Errorf("error quotes the body: %v", err)
			}
			if log.n() != 1 {
				t.Errorf("requests = %d, want 1", log.n())
			}
		})
	}
}

func TestCreateSendsUserAndReturnsServerID(t *testing.T) {
	type body struct {
		Schemas    []string
		UserName   string
		ExternalID *string `json:"externalId"`
		Name       *struct{ GivenName, FamilyName string }
		Emails     []struct {
			Value   string
			Primary bool
			Type    string
		}
		Active *bool
		ID     *string
	}
	cases := []struct {
		name       string
		in         User
		wantExt    *string
		wantName   bool
		wantEmails string
	}{
		{"full", User{ID: "ignored", UserName: "dana@example.com", ExternalID: "c1-123", GivenName: "Dana", FamilyName: "Lévi"},
			ptr("c1-123"), true, "dana@example.com/true/work"},
		{"minimal", User{UserName: "e@example.com"}, nil, false, "e@example.com/true/work"},
		{"emails given, none primary", User{UserName: "f@example.com", Emails: []Email{{Value: "f@example.com"}, {Value: "f2@example.com", Type: "home"}}},
			nil, false, "f@example.com/true/ f2@example.com/false/home"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, log := fake(t, reply(201, userJSON("srv-42", tc.in.UserName)))
			got, err := newClient(t, srv, &recorder{}).Create(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != "srv-42" || got.UserName != tc.in.UserName || !got.Active {
				t.Errorf("returned %+v, want the server's user srv-42", got)
			}
			req := log.last(t)
			var b body
			decodeStrict(t, req.Body, &b)
			if !reflect.DeepEqual(b.Schemas, []string{"urn:ietf:params:scim:schemas:core:2.0:User"}) || b.UserName != tc.in.UserName {
				t.Errorf("schemas = %q, userName = %q", b.Schemas, b.UserName)
			}
			if b.Active == nil || !*b.Active || b.ID != nil {
				t.Errorf("active = %v, id = %v; want active true and no id", b.Active, b.ID)
			}
			if !reflect.DeepEqual(b.ExternalID, tc.wantExt) {
				t.Errorf("externalId = %v, want %v", b.ExternalID, tc.wantExt)
			}
			if (b.Name != nil) != tc.wantName || (tc.wantName && (b.Name.GivenName != tc.in.GivenName || b.Name.FamilyName != tc.in.FamilyName)) {
				t.Errorf("name = %+v", b.Name)
			}
			var emails []string
			for _, e := range b.Emails {
				emails = append(emails, fmt.Sprintf("%s/%v/%s", e.Value, e.Primary, e.Type))
			}
			if strings.Join(emails, " ") != tc.wantEmails {
				t.Errorf("emails = %q, want %q", emails, tc.wantEmails)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCreateWithoutIDInAnswerIsAnError(t *testing.T) {
	srv, _ := fake(t, reply(201, `{"userName":"a@x.com"}`))
	_, err := newClient(t, srv, &recorder{}).Create(context.Background(), User{UserName: "a@x.com"})
	requireCode(t, err, codes.Internal, "no user id")
}

func TestCreateConflict(t *testing.T) {
	srv, log := fake(t, reply(409, scimError("409", "uniqueness", "User already exists")))
	_, err := newClient(t, srv, &recorder{}).Create(context.Background(), User{UserName: "a@x.com"})
	requireCode(t, err, codes.AlreadyExists, "POST /Users", "already exists", "HTTP 409 uniqueness: User already exists")
	if !IsConflict(err) || IsNotFound(err) || log.n() != 1 {
		t.Errorf("IsConflict = %v, IsNotFound = %v, requests = %d", IsConflict(err), IsNotFound(err), log.n())
	}
}

func TestCreateRetriedAfter503ThenConflict(t *testing.T) {
	// The first attempt created the user but its answer was lost; the retry hits 409.
	srv, log := fake(t, reply(503, ``), reply(409, scimError("409", "uniqueness", "exists")))
	rec := &recorder{}
	_, err := newClient(t, srv, rec).Create(context.Background(), User{UserName: "a@x.com"})
	requireCode(t, err, codes.AlreadyExists)
	if !IsConflict(err) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	reqs := log.all()
	if len(reqs) != 2 || reqs[0].Method != "POST" || reqs[1].Body != reqs[0].Body || reqs[0].Body == "" {
		t.Errorf("requests = %+v, want the same POST twice", reqs)
	}
	if !reflect.DeepEqual(rec.Waits(), secs(1)) {
		t.Errorf("waits = %v, want [1s]", rec.Waits())
	}
}

func TestDeleteEscapesID(t *testing.T) {
	srv, log := fake(t, reply(204, ``))
	if err := newClient(t, srv, &recorder{}).Delete(context.Background(), "a/b c?"); err != nil {
		t.Fatal(err)
	}
	if p := log.last(t).EscapedPath; p != prefix+"/Users/a%2Fb%20c%3F" {
		t.Errorf("path = %q", p)
	}
}

func TestDelete(t *testing.T) {
	srv, log := fake(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if err := newClient(t, srv, &recorder{}).Delete(context.Background(), "2819c223"); err != nil {
		t.Fatal(err)
	}
	if r := log.last(t); r.Method != "DELETE" || r.EscapedPath != prefix+"/Users/2819c223" || log.n() != 1 {
		t.Errorf("request = %s %s (%d requests)", r.Method, r.EscapedPath, log.n())
	}

	srv, _ = fake(t, reply(404, scimError("404", "", "Resource 2819c223 not found")))
	err := newClient(t, srv, &recorder{}).Delete(context.Background(), "2819c223")
	requireCode(t, err, codes.NotFound, "/Users/2819c223")
	if !IsNotFound(err) || IsConflict(err) {
		t.Errorf("IsNotFound = %v, IsConflict = %v", IsNotFound(err), IsConflict(err))
	}
}

func TestErrorMapping(t *testing.T) {
	long := strings.Repeat("x", 300)
	list := func(c *Client) error { _, err := c.ListUsers(context.Background()); return err }
	find := func(c *Client) error { _, err := c.FindByUserName(context.Background(), "a@x.com"); return err }
	del := func(c *Client) error { return c.Delete(context.Background(), "u1") }
	cases := []struct {
		name     string
		status   int
		body     string
		call     func(*Client) error
		code     codes.Code
		msg      string // exact, with {URL} for the server URL; "" to check parts only
		parts    []string
		scimType string
		detail   string
		method   string
		path     string
		notFound bool
	}{
		{name: "401", status: 401, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401"}`, call: list, code: codes.Unauthenticated,
			msg: "Cursor's SCIM endpoint rejected the token (HTTP 401); check cursor-scim-token (BATON_CURSOR_SCIM_TOKEN): generate it in the Cursor dashboard's SCIM setup"},
		{name: "401 numeric status and detail", status: 401, body: `{"status":401,"detail":"Invalid bearer token"}`, call: del, code: codes.Unauthenticated,
			parts: []string{"(HTTP 401: Invalid bearer token)", "cursor-scim-token"}, detail: "Invalid bearer token", method: "DELETE", path: "/Users/u1"},
		{name: "403", status: 403, body: scimError("403", "", "SCIM is not enabled"), call: find, code: codes.PermissionDenied,
			msg: "Cursor's SCIM endpoint refused GET /Users (HTTP 403: SCIM is not enabled): SCIM needs a Cursor Enterprise plan and an active SSO connection, and cursor-scim-token must be the token of this endpoint"},
		{name: "404 collection", status: 404, body: `<html>Not Found</html>`, call: list, code: codes.FailedPrecondition,
			msg: "no SCIM endpoint at {URL}/scim/v2/Users (HTTP 404); check cursor-scim-url (BATON_CURSOR_SCIM_URL): copy the SCIM base URL from the Cursor dashboard's SCIM setup"},
		{name: "404 collection on find", status: 404, body: ``, call: find, code: codes.FailedPrecondition, parts: []string{"no SCIM endpoint at {URL}/scim/v2/Users", "cursor-scim-url"}},
		{name: "404 item", status: 404, body: scimError("404", "", "User u1 not found"), call: del, code: codes.NotFound,
			msg: "Cursor's SCIM endpoint has no user at /Users/u1 (HTTP 404: User u1 not found)", notFound: true},
		{name: "404 item without a body", status: 404, body: ``, call: del, code: codes.NotFound, notFound: true, method: "DELETE", path: "/Users/u1"},
		{name: "409 delete", status: 409, body: scimError("409", "uniqueness", ""), call: del, code: codes.AlreadyExists, parts: []string{"DELETE /Users/u1", "HTTP 409 uniqueness"}, scimType: "uniqueness"},
		{name: "400 invalidFilter", status: 400, body: scimError("400", "invalidFilter", "Unsupported filter"), call: find, code: codes.InvalidArgument,
			msg: "Cursor's SCIM endpoint rejected GET /Users (HTTP 400 invalidFilter: Unsupported filter)", scimType: "invalidFilter", detail: "Unsupported filter", method: "GET", path: "/Users"},
		{name: "400 invalidValue on delete", status: 400, body: scimError("400", "invalidValue", "bad id"), call: del, code: codes.InvalidArgument,
			parts: []string{"DELETE /Users/u1 (HTTP 400 invalidValue: bad id)"}},
		{name: "HTTP status wins over body status", status: 400, body: scimError("500", "invalidSyntax", "bad"), call: list, code: codes.InvalidArgument, parts: []string{"HTTP 400 invalidSyntax: bad"}},
		{name: "non-standard message field", status: 400, body: `{"message":"missing userName"}`, call: list, code: codes.InvalidArgument, parts: []string{"(HTTP 400: missing userName)"}},
		{name: "501", status: 501, body: scimError("501", "", "DELETE not supported"), call: del, code: codes.Unimplemented,
			msg: "Cursor's SCIM endpoint does not support DELETE /Users/u1 (HTTP 501: DELETE not supported)"},
		{name: "405", status: 405, body: ``, call: del, code: codes.FailedPrecondition, parts: []string{"rejected DELETE /Users/u1 (HTTP 405)"}},
		{name: "control characters and length", status: 400, body: `{"detail":"bad\u001b[31m\nthing\u202e ` + long + `"}`, call: list, code: codes.InvalidArgument,
			parts: []string{"(HTTP 400: bad[31m thing " + strings.Repeat("x", 200-len("bad[31m thing ")) + "…)"}},
		{name: "server echoes the token", status: 401, body: scimError("401", "", "token "+testToken+" is revoked"), call: list, code: codes.Unauthenticated,
			parts: []string{"(HTTP 401: token [redacted] is revoked)"}},
		{name: "unexpected 3xx", status: 304, body: ``, call: list, code: codes.Internal, msg: "Cursor's SCIM endpoint answered GET /Users with an unexpected HTTP 304"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, log := fake(t, reply(tc.status, tc.body), reply(200, userJSON("u1", "a@x.com")))
			rec := &recorder{}
			err := tc.call(newClient(t, srv, rec))
			parts := make([]string, len(tc.parts))
			for i, p := range tc.parts {
				parts[i] = strings.ReplaceAll(p, "{URL}", srv.URL)
			}
			requireCode(t, err, tc.code, parts...)
			if want := strings.ReplaceAll(tc.msg, "{URL}", srv.URL); tc.msg != "" && err.Error() != want {
				t.Errorf("message =\n%q\nwant\n%q", err.Error(), want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err is %T, want *Error", err)
			}
			if e.Status != tc.status || e.Attempts != 1 {
				t.Errorf("Status = %d, Attempts = %d; want %d and 1", e.Status, e.Attempts, tc.status)
			}
			if tc.scimType != "" && e.ScimType != tc.scimType || tc.detail != "" && e.Detail != tc.detail {
				t.Errorf("ScimType = %q, Detail = %q; want %q, %q", e.ScimType, e.Detail, tc.scimType, tc.detail)
			}
			if tc.method != "" && (e.Method != tc.method || e.Path != tc.path) {
				t.Errorf("Method, Path = %q, %q; want %q, %q", e.Method, e.Path, tc.method, tc.path)
			}
			if IsNotFound(err) != tc.notFound || IsConflict(err) != (tc.status == 409) {
				t.Errorf("IsNotFound = %v, IsConflict = %v", IsNotFound(err), IsConflict(err))
			}
			if log.n() != 1 || len(rec.Waits()) != 0 {
				t.Errorf("requests = %d, waits = %v; want 1 request and no retry", log.n(), rec.Waits())
			}
		})
	}
}

func TestServerErrorForever(t *testing.T) {
	srv, log := fake(t, reply(500, scimError("500", "", "boom")))
	rec := &recorder{}
	err := newClient(t, srv, rec).Delete(context.Background(), "u1")
	requireCode(t, err, codes.Unavailable)
	if want := "Cursor's SCIM endpoint kept failing DELETE /Users/u1 (HTTP 500: boom) after 6 attempts over 31s"; err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
	if log.n() != 6 || !reflect.DeepEqual(rec.Waits(), secs(1, 2, 4, 8, 16)) {
		t.Errorf("requests = %d, waits = %v; want 6 and [1s 2s 4s 8s 16s]", log.n(), rec.Waits())
	}
	if IsNotFound(err) || IsConflict(err) {
		t.Error("a 500 is neither not-found nor conflict")
	}
}

func TestRateLimitedForever(t *testing.T) {
	srv, log := fake(t, reply(429, scimError("429", "", "slow down")))
	rec := &recorder{}
	_, err := newClient(t, srv, rec).ListUsers(context.Background())
	requireCode(t, err, codes.Unavailable)
	if want := "Cursor's SCIM endpoint kept rate-limiting GET /Users (HTTP 429: slow down) after 6 attempts over 31s; try again in a minute"; err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
	if log.n() != 6 || !reflect.DeepEqual(rec.Waits(), secs(1, 2, 4, 8, 16)) {
		t.Errorf("requests = %d, waits = %v", log.n(), rec.Waits())
	}
	var rl *v2.RateLimitDescription
	for _, d := range status.Convert(err).Details() {
		if r, ok := d.(*v2.RateLimitDescription); ok {
			rl = r
		}
	}
	if rl == nil || rl.GetStatus() != v2.RateLimitDescription_STATUS_OVERLIMIT {
		t.Fatalf("no OVERLIMIT RateLimitDescription detail: %v", status.Convert(err).Details())
	}
}

func Test503RetryAfterHonoured(t *testing.T) {
	srv, log := fake(t, reply(503, ``, "Retry-After", "7"), reply(204, ``))
	rec := &recorder{}
	var hooked []string
	c, err := New(Config{BaseURL: srv.URL + prefix, Token: testToken, Retry: httpretry.Policy{Wait: rec.Wait},
		OnRetry: func(attempt int, wait time.Duration, reason string) {
			hooked = append(hooked, fmt.Sprintf("%d %s %s", attempt, wait, reason))
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(context.Background(), "u1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if !reflect.DeepEqual(rec.Waits(), secs(7)) || log.n() != 2 {
		t.Errorf("waits = %v, requests = %d; want [7s] and 2", rec.Waits(), log.n())
	}
	if want := []string{"1 7s HTTP 503 with Retry-After"}; !reflect.DeepEqual(hooked, want) {
		t.Errorf("OnRetry = %q, want %q", hooked, want)
	}
}

func TestNetworkFailureIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens any more: connection refused
	rec := &recorder{}
	c, err := New(Config{BaseURL: "http://" + addr + prefix, Token: testToken, Retry: httpretry.Policy{Wait: rec.Wait}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListUsers(context.Background())
	requireCode(t, err, codes.Unavailable, "GET /Users on Cursor's SCIM endpoint", "no answer from "+addr+" after 6 attempts over 31s", "connection refused")
	if !reflect.DeepEqual(rec.Waits(), secs(1, 2, 4, 8, 16)) {
		t.Errorf("waits = %v", rec.Waits())
	}
}

func TestContextCancelledDuringBackoff(t *testing.T) {
	srv, log := fake(t, reply(503, ``))
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(Config{BaseURL: srv.URL + prefix, Token: testToken, Retry: httpretry.Policy{
		Backoff: []time.Duration{time.Hour}, // only the injected wait could make this prompt
		Wait:    func(ctx context.Context, d time.Duration) error { cancel(); <-ctx.Done(); return ctx.Err() },
	}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.Delete(ctx, "u1")
	requireCode(t, err, codes.Canceled)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err does not wrap context.Canceled: %v", err)
	}
	if log.n() != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("requests = %d after %v; want 1, promptly", log.n(), time.Since(start))
	}
}

func TestContextDeadlineBeforeSending(t *testing.T) {
	srv, log := fake(t, reply(200, `{"Resources":[]}`))
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := newClient(t, srv, &recorder{}).FindByUserName(ctx, "a@x.com")
	requireCode(t, err, codes.DeadlineExceeded)
	if !errors.Is(err, context.DeadlineExceeded) || log.n() != 0 {
		t.Errorf("err = %v, requests = %d; want DeadlineExceeded and 0", err, log.n())
	}
}
