package connector

import (
	"context"
	"fmt"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/protobuf/types/known/structpb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// orgPhase prefixes the user listing's page tokens once it has moved from
// the team's roster to the organization's members (people on the roster
// were listed already, with their team facts, and are skipped there).
const orgPhase = "org:"

// listOrgUsers lists one Cursor page (200) of the organization's members as
// users: 1.10 MB at the bounds, under maxPageBytes (org_pagesize_test.go).
func (b *userBuilder) listOrgUsers(ctx context.Context, tok string, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := svc.ListOrgMembers(ctx, &pluginv1.ListOrgMembersRequest{PageToken: tok, SyncId: opts.SyncID})
	if err != nil {
		return nil, nil, fmt.Errorf("baton-cursor: list organization members: %w", err)
	}
	out := make([]*v2.Resource, 0, len(resp.GetMembers()))
	for _, m := range resp.GetMembers() {
		if m.GetOnTeam() {
			continue
		}
		r, err := OrgUserResource(m)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	next := ""
	if t := resp.GetNextPageToken(); t != "" {
		next = orgPhase + t
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// OrgUserResource maps a person of the organization (not on the team key's
// roster) to a baton user: the same id, the lower-cased email, as a team
// member's, so a person on several teams is one user.
func OrgUserResource(m *pluginv1.OrgMember) (*v2.Resource, error) {
	name := m.GetName()
	if name == "" {
		name = m.GetEmail()
	}
	teams := make([]*structpb.Value, 0, len(m.GetTeams()))
	for _, t := range m.GetTeams() {
		teams = append(teams, structpb.NewStringValue(t.GetTeamId()+":"+t.GetRole()))
	}
	profile := &structpb.Struct{Fields: map[string]*structpb.Value{
		"email":             structpb.NewStringValue(m.GetEmail()),
		"cursor_user_id":    structpb.NewStringValue(m.GetCursorId()),
		"organization_role": structpb.NewStringValue(m.GetOrganizationRole()),
		"teams":             structpb.NewListValue(&structpb.ListValue{Values: teams}),
	}}
	r, err := rs.NewUserResource(name, UserResourceType, m.GetKey(), []rs.UserTraitOption{
		rs.WithEmail(m.GetEmail(), true),
		rs.WithUserLogin(m.GetEmail()),
		rs.WithAccountType(v2.UserTrait_ACCOUNT_TYPE_HUMAN),
		rs.WithStatus(v2.UserTrait_Status_STATUS_ENABLED),
	}, func(r *v2.Resource) error { r.SetProfile(profile); return nil })
	if err != nil {
		return nil, fmt.Errorf("baton-cursor: map organization member %s: %w", m.GetKey(), err)
	}
	return r, nil
}
