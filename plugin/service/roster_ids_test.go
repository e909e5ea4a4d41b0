package service

import (
	"context"
	"strings"
	"testing"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
)

// cursor_id is the user_ id Cursor's own client keys people by, whichever
// field carries it, publicId first; else the id that is there.
func TestCursorIDPrefersTheUserIDOfPublicID(t *testing.T) {
	rows := []cursorapi.Member{
		{ID: "42", PublicID: "user_alice", Email: "alice@x.test", Role: "member"},
		{ID: "user_bob", PublicID: "", Email: "bob@x.test", Role: "member"},
		{ID: "user_carol", PublicID: "pub_7", Email: "carol@x.test", Role: "member"},
		{ID: "7", PublicID: "", Email: "dan@x.test", Role: "member"},
		{ID: "", PublicID: "pub_8", Email: "eve@x.test", Role: "member"},
		{Email: "fay@x.test", Role: "member"},
	}
	s, _, _ := newFake(t, rows)
	want := map[string]string{
		"alice@x.test": "user_alice", "bob@x.test": "user_bob", "carol@x.test": "user_carol",
		"dan@x.test": "7", "eve@x.test": "pub_8", "fay@x.test": "",
	}
	for _, m := range listAll(t, s, &pluginv1.ListMembersRequest{}) {
		if got := m.GetCursorId(); got != want[m.GetKey()] {
			t.Errorf("%s: cursor_id %q, want %q", m.GetKey(), got, want[m.GetKey()])
		}
	}
}

// Organization admins listed in the team keep their own role, named and
// described, counted and listed by role, with no "unknown role" warning.
func TestOrgAdminsKeepTheirOwnNamedRole(t *testing.T) {
	s, _, _ := newFake(t, []cursorapi.Member{
		member("a@x.test", "owner", false),
		member("o1@x.test", "Org Admin", false),
		member("o2@x.test", "Org Admin", false),
		member("z@x.test", "zz-auditor", false),
	})
	ctx := context.Background()
	roles, err := s.ListRoles(ctx, &pluginv1.ListRolesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var org *pluginv1.Role
	for _, r := range roles.GetRoles() {
		if r.GetId() == "Org Admin" {
			org = r
		}
	}
	if org == nil {
		t.Fatalf("no Org Admin role in %v", roles.GetRoles())
	}
	if org.GetDisplayName() != "Org Admin" || !org.GetKnown() || org.GetActiveMembers() != 2 ||
		!strings.Contains(org.GetDescription(), "organization") {
		t.Errorf("Org Admin role = %v, want display name Org Admin, known, 2 active, a description of organization admins", org)
	}
	got := keys(listAll(t, s, &pluginv1.ListMembersRequest{Role: "Org Admin", KeysOnly: true}))
	if strings.Join(got, ",") != "o1@x.test,o2@x.test" {
		t.Errorf("members of Org Admin = %v, want o1 and o2", got)
	}
	info, err := s.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range info.GetDiagnostics() {
		if strings.Contains(d.GetSummary(), "does not know") && strings.Contains(d.GetSummary(), "Org Admin") {
			t.Errorf("a warning calls Org Admin unknown: %q", d.GetSummary())
		}
		if strings.Contains(d.GetSummary(), "does not know") && !strings.Contains(d.GetSummary(), "zz-auditor") {
			t.Errorf("the unknown-role warning lost zz-auditor: %q", d.GetSummary())
		}
	}
}
