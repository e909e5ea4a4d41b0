package connector

import (
	"context"
	"reflect"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// A role, its one entitlement and a grant carry the ids the README documents
// (role:<id>:assigned, role:<id>:assigned:user:<email>), so a c1z compares
// across syncs and C1 finds the same entitlement every time.
func TestRoleIDsAreStable(t *testing.T) {
	for _, tc := range []struct {
		role     *pluginv1.Role
		wantName string
	}{
		{&pluginv1.Role{Id: "owner", DisplayName: "Owner", Known: true, ActiveMembers: 3, Description: "Team admin"}, "Owner"},
		{&pluginv1.Role{Id: "free-owner", DisplayName: "Free Owner", Known: true}, "Free Owner"},
		{&pluginv1.Role{Id: "Org Admin", DisplayName: "Org Admin", ActiveMembers: 1}, "Org Admin"}, // a role string Cursor added
	} {
		t.Run(tc.role.GetId(), func(t *testing.T) {
			r, err := RoleResource(tc.role)
			if err != nil {
				t.Fatal(err)
			}
			if id := r.GetId(); id.GetResourceType() != "role" || id.GetResource() != tc.role.GetId() {
				t.Errorf("id %s/%s, want role/%s", id.GetResourceType(), id.GetResource(), tc.role.GetId())
			}
			if r.GetDisplayName() != tc.wantName || r.GetDescription() != tc.role.GetDescription() {
				t.Errorf("name %q description %q, want %q %q", r.GetDisplayName(), r.GetDescription(), tc.wantName, tc.role.GetDescription())
			}
			rt, err := rs.GetRoleTrait(r)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"cursor_role": tc.role.GetId(), "known": tc.role.GetKnown(), "active_members": float64(tc.role.GetActiveMembers())}
			if got := rt.GetProfile().AsMap(); !reflect.DeepEqual(got, want) {
				t.Errorf("role profile %v, want %v", got, want)
			}

			ent := RoleEntitlement(r)
			if want := "role:" + tc.role.GetId() + ":assigned"; ent.GetId() != want {
				t.Errorf("entitlement id %q, want %q", ent.GetId(), want)
			}
			if ent.GetDisplayName() != tc.wantName+" role" || ent.GetPurpose() != v2.Entitlement_PURPOSE_VALUE_ASSIGNMENT {
				t.Errorf("entitlement %q purpose %v, want %q, assignment", ent.GetDisplayName(), ent.GetPurpose(), tc.wantName+" role")
			}
			if g := ent.GetGrantableTo(); len(g) != 1 || g[0].GetId() != "user" {
				t.Errorf("entitlement grantable to %v, want users only", g)
			}
			ents, _, err := (&roleBuilder{}).Entitlements(context.Background(), r, rs.SyncOpAttrs{})
			if err != nil || len(ents) != 1 || ents[0].GetId() != ent.GetId() {
				t.Errorf("role lists entitlements %v (%v), want its one entitlement %q", ents, err, ent.GetId())
			}

			g := RoleGrant(r, "dana@example.com")
			if want := "role:" + tc.role.GetId() + ":assigned:user:dana@example.com"; g.GetId() != want {
				t.Errorf("grant id %q, want %q", g.GetId(), want)
			}
			if p := g.GetPrincipal().GetId(); p.GetResourceType() != "user" || p.GetResource() != "dana@example.com" {
				t.Errorf("grant principal %s/%s, want user/dana@example.com", p.GetResourceType(), p.GetResource())
			}
			if g.GetEntitlement().GetId() != ent.GetId() {
				t.Errorf("grant entitlement %q, want %q", g.GetEntitlement().GetId(), ent.GetId())
			}
		})
	}
}
