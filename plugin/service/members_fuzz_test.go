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

// FuzzPageToken: any token either resumes after a key that round-trips (with
// its snapshot id), or is refused with InvalidArgument; a listing resumed from
// it never repeats or goes back, whether or not the plugin holds its snapshot.
func FuzzPageToken(f *testing.F) {
	for _, seed := range []string{"", pageToken("AAAAAAAAAAA", "a@x.test"), pageToken("s1", "zoë@x.test"), "k1.", "k1.!!", "k1.YQ", "k2.YQ", "k2..YQ",
		"k2.s.", "garbage", pageToken("s1", "b@x.test") + "=", "k1.YQ="} {
		f.Add(seed)
	}
	roster := []cursorapi.Member{member("a@x.test", "owner", false), member("b@x.test", "member", false),
		member("c@x.test", "member", true), member("d@x.test", "member", false)}
	s, _, _ := newFake(f, roster)
	f.Fuzz(func(t *testing.T, tok string) {
		snapID, key, err := parsePageToken(tok)
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
			if snapID != "" {
				if againID, again, err := parsePageToken(pageToken(snapID, key)); err != nil || again != key || againID != snapID {
					t.Fatalf("snapshot %q key %q do not round-trip: %q %q, %v", snapID, key, againID, again, err)
				}
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
