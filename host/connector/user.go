package connector

import (
	"context"
	"fmt"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	"google.golang.org/protobuf/types/known/structpb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

type userBuilder struct{ conn *Connector }

var _ connectorbuilder.ResourceSyncerV2 = (*userBuilder)(nil)

func (b *userBuilder) ResourceType(context.Context) *v2.ResourceType { return UserResourceType }

// List pages through every member, removed ones included (they become
// disabled accounts).
func (b *userBuilder) List(ctx context.Context, _ *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	sc := b.conn.syncScope(ctx)
	if tok, ok := strings.CutPrefix(opts.PageToken.Token, orgPhase); ok || sc.teamOff {
		return b.listOrgUsers(ctx, tok, opts) // org_user.go
	}
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	out, next, err := fitPage(ctx, userPageSize, "user", func(size int) ([]*v2.Resource, string, error) {
		resp, err := svc.ListMembers(ctx, &pluginv1.ListMembersRequest{
			PageSize:       int32(size),
			PageToken:      opts.PageToken.Token,
			IncludeRemoved: true,
			SyncId:         opts.SyncID, // one roster snapshot for the whole sync
		})
		if err != nil {
			return nil, "", fmt.Errorf("baton-cursor: list members: %w", err)
		}
		out := make([]*v2.Resource, 0, len(resp.GetMembers()))
		for _, m := range resp.GetMembers() {
			r, err := UserResource(m)
			if err != nil {
				return nil, "", err
			}
			out = append(out, r)
		}
		return out, resp.GetNextPageToken(), nil
	})
	if err != nil {
		return nil, nil, err
	}
	if next == "" && sc.org {
		next = orgPhase // then the organization's people who are not on this team
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// Users own no entitlements or grants (the type says so to the syncer).
func (b *userBuilder) Entitlements(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return nil, nil, nil
}

func (b *userBuilder) Grants(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	return nil, nil, nil
}

// withProfile sets the user's profile. It builds the struct directly:
// rs.WithResourceProfile goes through a map[string]any and reflection, a
// quarter of the allocations of mapping a member.
func withProfile(m *pluginv1.Member) rs.ResourceOption {
	return func(r *v2.Resource) error {
		fields := map[string]*structpb.Value{
			"email":     structpb.NewStringValue(m.GetEmail()),
			"cursor_id": structpb.NewStringValue(m.GetCursorId()),
			"role":      structpb.NewStringValue(m.GetRole()),
			"removed":   boolValue(m.GetRemoved()),
			// Meaningful only when SCIM is configured.
			"scim_managed":        boolValue(m.GetScimManaged()),
			"pending_first_login": boolValue(m.GetPendingFirstLogin()),
		}
		addActivity(fields, m.GetActivity())
		r.SetProfile(&structpb.Struct{Fields: fields})
		return nil
	}
}

// Profiles are only ever read after they are built, so every profile can
// share these two values.
var trueValue, falseValue = structpb.NewBoolValue(true), structpb.NewBoolValue(false)

func boolValue(b bool) *structpb.Value {
	if b {
		return trueValue
	}
	return falseValue
}

// UserResource maps a member to a baton user.
func UserResource(m *pluginv1.Member) (*v2.Resource, error) {
	name := m.GetName()
	if name == "" {
		name = m.GetEmail()
	}
	st, traitSt, details := v2.Status_RESOURCE_STATUS_ENABLED, v2.UserTrait_Status_STATUS_ENABLED, ""
	switch {
	case m.GetRemoved():
		st, traitSt, details = v2.Status_RESOURCE_STATUS_DISABLED, v2.UserTrait_Status_STATUS_DISABLED, "removed from the Cursor team"
	case m.GetPendingFirstLogin():
		details = "created through SCIM; joins the Cursor team at the person's first login"
	}
	traits := []rs.UserTraitOption{
		rs.WithEmail(m.GetEmail(), true),
		rs.WithUserLogin(m.GetEmail()),
		rs.WithAccountType(v2.UserTrait_ACCOUNT_TYPE_HUMAN),
		// The trait's status would otherwise default to enabled for a removed member.
		rs.WithDetailedStatus(traitSt, details), //nolint:staticcheck // see above
	}
	if last := lastActivity(m); !last.IsZero() {
		traits = append(traits, rs.WithLastLogin(last))
	}
	r, err := rs.NewUserResource(name, UserResourceType, m.GetKey(), traits,
		rs.WithResourceStatus(st, details),
		withProfile(m),
	)
	if err != nil {
		return nil, fmt.Errorf("baton-cursor: map member %s: %w", m.GetKey(), err)
	}
	return r, nil
}
