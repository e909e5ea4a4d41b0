package service

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
)

// FuzzPageToken: any token either resumes after a key that round-trips, or is
// refused with InvalidArgument; a listing resumed from it never repeats or
// goes back.
func FuzzPageToken(f *testing.F) {
	for _, seed := range []string{"", pageToken("a@x.test"), pageToken("zoë@x.test"), "k1.", "k1.!!", "k2.YQ", "garbage", pageToken("b@x.test") + "=", "k1.YQ="} {
		f.Add(seed)
	}
	roster := []cursorapi.Member{member("a@x.test", "owner", false), member("b@x.test", "member", false),
		member("c@x.test", "member", true), member("d@x.test", "member", false)}
	s, _, _ := newFake(f, roster)
	f.Fuzz(func(t *testing.T, tok string) {
		key, err := parsePageToken(tok)
		if err != nil {
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("parsePageToken(%q) = %v, want InvalidArgument", tok, err)
			}
			return
		}
		if tok != "" && (key == "" || !utf8.ValidString(key)) {
			t.Fatalf("parsePageToken(%q) accepted key %q", tok, key)
		}
		if tok != "" {
			if again, err := parsePageToken(pageToken(key)); err != nil || again != key {
				t.Fatalf("key %q does not round-trip: %q, %v", key, again, err)
			}
		}
		resp, err := s.ListMembers(context.Background(), &pluginv1.ListMembersRequest{PageToken: tok, PageSize: 2, IncludeRemoved: true})
		if err != nil {
			t.Fatalf("ListMembers with a token parsePageToken accepted: %v", err)
		}
		for _, m := range resp.GetMembers() {
			if m.GetKey() <= key {
				t.Fatalf("token after %q returned %q", key, m.GetKey())
			}
		}
		if next := resp.GetNextPageToken(); next != "" && !strings.HasPrefix(next, pageTokenPrefix) {
			t.Fatalf("next token %q lacks the prefix", next)
		}
	})
}
