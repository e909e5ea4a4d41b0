package cursorapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRemoveMemberSendsTheEmail(t *testing.T) {
	var got struct{ method, path, ctype, user, pass string }
	var body map[string]any
	srv, n := fake(t, func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.ctype = r.Method, r.URL.Path, r.Header.Get("Content-Type")
		got.user, got.pass, _ = r.BasicAuth()
		_ = json.NewDecoder(r.Body).Decode(&body)
		reply(200, `{"success":true,"userId":"user_9","hasBillingCycleUsage":true}`)(w, r)
	})
	res, err := newClient(t, srv.URL, &recorder{}).RemoveMember(context.Background(), "Dana@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.method != "POST" || got.path != "/teams/remove-member" || got.ctype != "application/json" || got.user != testKey || got.pass != "" {
		t.Errorf("request = %+v", got)
	}
	if len(body) != 1 || body["email"] != "Dana@Example.com" {
		t.Errorf("body = %v, want exactly {email}", body)
	}
	if res.UserID != "user_9" || !res.HasBillingCycleUsage || n.Load() != 1 {
		t.Errorf("result %+v after %d requests", res, n.Load())
	}
}

func TestRemoveMemberRefusalIsCursorsOwnWords(t *testing.T) {
	const rule = "At least one admin (owner or free-owner) must remain on the team after removal"
	srv, n := fake(t, reply(400, `{"error":"`+rule+`"}`))
	_, err := newClient(t, srv.URL, &recorder{}).RemoveMember(context.Background(), "last-admin@example.com")
	reason, ok := RefusedReason(err)
	if !ok || reason != rule {
		t.Errorf("RefusedReason = %q, %v; want Cursor's text verbatim", reason, ok)
	}
	if !strings.Contains(err.Error(), rule) || n.Load() != 1 {
		t.Errorf("error %q after %d requests; want the rule in it and no retry", err, n.Load())
	}
	if _, ok := RefusedReason(status.Error(codes.Unavailable, "x")); ok {
		t.Error("RefusedReason accepted an error that is not Cursor's refusal")
	}
}

func TestRemoveMemberErrors(t *testing.T) {
	cases := []struct {
		name string
		h    http.HandlerFunc
		code codes.Code
	}{
		{"business plan", reply(403, `{"error":"Forbidden","message":"Enterprise access required"}`), codes.PermissionDenied},
		{"200 without success", reply(200, `{"success":false}`), codes.Internal},
		{"empty email", nil, codes.InvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.h
			if h == nil {
				h = reply(200, `{"success":true}`)
			}
			srv, _ := fake(t, h)
			email := "a@example.com"
			if c.h == nil {
				email = " "
			}
			_, err := newClient(t, srv.URL, &recorder{}).RemoveMember(context.Background(), email)
			if status.Code(err) != c.code {
				t.Errorf("got %v, want %v", err, c.code)
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Error("the key leaked into the error")
			}
		})
	}
}
