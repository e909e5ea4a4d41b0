package connector

import (
	"reflect"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// A member becomes the user a reviewer reads in the c1z: id the key (the
// lower-cased email), name (the email when Cursor has none), email and login
// as Cursor sent them, status, and the profile's Cursor facts.
func TestUserResourceIsTheMemberAsAReviewerSeesIt(t *testing.T) {
	login := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		m           *pluginv1.Member
		wantName    string
		wantStatus  v2.Status_ResourceStatus
		wantTrait   v2.UserTrait_Status_Status
		wantDetails string
		wantLogin   time.Time // zero: no last login in the trait
		wantProfile map[string]any
	}{
		{
			name:       "active member",
			m:          &pluginv1.Member{Key: "dana@example.com", Email: "Dana@Example.com", Name: "Dana Scully", Role: "owner", CursorId: "user_01H"},
			wantName:   "Dana Scully",
			wantStatus: v2.Status_RESOURCE_STATUS_ENABLED, wantTrait: v2.UserTrait_Status_STATUS_ENABLED,
			wantProfile: map[string]any{"email": "Dana@Example.com", "cursor_id": "user_01H", "role": "owner",
				"removed": false, "scim_managed": false, "pending_first_login": false},
		},
		{
			name:       "removed member is a disabled account",
			m:          &pluginv1.Member{Key: "old@example.com", Email: "old@example.com", Name: "Old", Role: "member", CursorId: "4711", Removed: true},
			wantName:   "Old",
			wantStatus: v2.Status_RESOURCE_STATUS_DISABLED, wantTrait: v2.UserTrait_Status_STATUS_DISABLED,
			wantDetails: "removed from the Cursor team",
			wantProfile: map[string]any{"email": "old@example.com", "cursor_id": "4711", "role": "member",
				"removed": true, "scim_managed": false, "pending_first_login": false},
		},
		{
			name:       "SCIM user before the first login, no name",
			m:          &pluginv1.Member{Key: "new@example.com", Email: "new@example.com", ScimManaged: true, PendingFirstLogin: true},
			wantName:   "new@example.com",
			wantStatus: v2.Status_RESOURCE_STATUS_ENABLED, wantTrait: v2.UserTrait_Status_STATUS_ENABLED,
			wantDetails: "created through SCIM; joins the Cursor team at the person's first login",
			wantProfile: map[string]any{"email": "new@example.com", "cursor_id": "", "role": "",
				"removed": false, "scim_managed": true, "pending_first_login": true},
		},
		{
			name: "last activity is the trait's last login",
			m: &pluginv1.Member{Key: "a@example.com", Email: "a@example.com", Name: "A", Role: "member",
				Activity: &pluginv1.Activity{WindowDays: 30, LastActivity: timestamppb.New(login)}},
			wantName:   "A",
			wantStatus: v2.Status_RESOURCE_STATUS_ENABLED, wantTrait: v2.UserTrait_Status_STATUS_ENABLED,
			wantLogin: login,
			wantProfile: map[string]any{"email": "a@example.com", "cursor_id": "", "role": "member",
				"removed": false, "scim_managed": false, "pending_first_login": false,
				"activity_window_days": 30.0, "usage_unknown": true, "logins_unknown": true, "spend_unknown": true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := UserResource(tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if id := r.GetId(); id.GetResourceType() != "user" || id.GetResource() != tc.m.GetKey() {
				t.Errorf("id %s/%s, want user/%s", id.GetResourceType(), id.GetResource(), tc.m.GetKey())
			}
			if r.GetDisplayName() != tc.wantName {
				t.Errorf("display name %q, want %q", r.GetDisplayName(), tc.wantName)
			}
			if s := r.GetStatus(); s.GetStatus() != tc.wantStatus || s.GetDetails() != tc.wantDetails {
				t.Errorf("resource status %v %q, want %v %q", s.GetStatus(), s.GetDetails(), tc.wantStatus, tc.wantDetails)
			}
			ut, err := rs.GetUserTrait(r)
			if err != nil {
				t.Fatal(err)
			}
			if s := ut.GetStatus(); s.GetStatus() != tc.wantTrait || s.GetDetails() != tc.wantDetails {
				t.Errorf("trait status %v %q, want %v %q", s.GetStatus(), s.GetDetails(), tc.wantTrait, tc.wantDetails)
			}
			if len(ut.GetEmails()) != 1 || ut.GetEmails()[0].GetAddress() != tc.m.GetEmail() || !ut.GetEmails()[0].GetIsPrimary() {
				t.Errorf("trait emails %v, want %q as the primary one", ut.GetEmails(), tc.m.GetEmail())
			}
			if ut.GetLogin() != tc.m.GetEmail() {
				t.Errorf("trait login %q, want %q", ut.GetLogin(), tc.m.GetEmail())
			}
			if ut.GetAccountType() != v2.UserTrait_ACCOUNT_TYPE_HUMAN {
				t.Errorf("account type %v, want human", ut.GetAccountType())
			}
			switch got := ut.GetLastLogin(); {
			case tc.wantLogin.IsZero() && got != nil:
				t.Errorf("last login %v, want none", got.AsTime())
			case !tc.wantLogin.IsZero() && !got.AsTime().Equal(tc.wantLogin):
				t.Errorf("last login %v, want %v", got.AsTime(), tc.wantLogin)
			}
			if got := r.GetProfile().AsMap(); !reflect.DeepEqual(got, tc.wantProfile) {
				t.Errorf("profile\n got %v\nwant %v", got, tc.wantProfile)
			}
		})
	}
}

// A person of the organization who is not on the team key's team is a user
// with the same id form as a team member's, and a profile naming every team
// and role.
func TestOrgUserResourceKeepsEveryTeamRole(t *testing.T) {
	r, err := OrgUserResource(&pluginv1.OrgMember{Key: "lee@example.com", Email: "Lee@example.com", CursorId: "991",
		OrganizationRole: "admin", Teams: []*pluginv1.OrgTeamRole{{TeamId: "103", Role: "owner"}, {TeamId: "207", Role: "member"}}})
	if err != nil {
		t.Fatal(err)
	}
	if id := r.GetId(); id.GetResourceType() != "user" || id.GetResource() != "lee@example.com" {
		t.Errorf("id %s/%s, want user/lee@example.com", id.GetResourceType(), id.GetResource())
	}
	if r.GetDisplayName() != "Lee@example.com" {
		t.Errorf("display name %q, want the email (Cursor gave no name)", r.GetDisplayName())
	}
	want := map[string]any{"email": "Lee@example.com", "cursor_user_id": "991", "organization_role": "admin",
		"teams": []any{"103:owner", "207:member"}}
	if got := r.GetProfile().AsMap(); !reflect.DeepEqual(got, want) {
		t.Errorf("profile\n got %v\nwant %v", got, want)
	}
	ut, err := rs.GetUserTrait(r)
	if err != nil {
		t.Fatal(err)
	}
	if ut.GetStatus().GetStatus() != v2.UserTrait_Status_STATUS_ENABLED || ut.GetLogin() != "Lee@example.com" {
		t.Errorf("trait status %v login %q, want enabled, Lee@example.com", ut.GetStatus().GetStatus(), ut.GetLogin())
	}
}
