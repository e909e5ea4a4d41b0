package cursororg

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
)

const groupsPath = "/organizations/groups"

// Group is an organization group (docs/cursor-api.md §6.1, §6.1.1): a cohort
// across teams, manual or synced from a SCIM directory group.
type Group struct {
	ID                          string   `json:"id"`       // "g_…", what the paths take (§8.17)
	PublicID                    string   `json:"publicId"` // "grp_…" since Sep 2026; the stable key where present
	Name                        string   `json:"name"`     // exact and case-sensitive: "Engineering" and "engineering" may both exist
	MemberCount                 int      `json:"memberCount"`
	MonthlySpendingLimitDollars *float64 `json:"monthlySpendingLimitDollars"`
	// DirectoryGroupID is non-empty for a group synced from a SCIM directory
	// group. The org group doc lists no such field: the name is borrowed
	// from billing groups (§2.10, directoryGroupId string|null), Cursor's only
	// documented marker of a directory link. Unconfirmed (open question).
	DirectoryGroupID *string `json:"directoryGroupId"`
}

// SCIMSynced: the group's membership comes from the identity provider and
// Cursor refuses API writes to it (§4.5).
func (g *Group) SCIMSynced() bool { return g.DirectoryGroupID != nil && *g.DirectoryGroupID != "" }

// Key is PublicID where Cursor sends one, else ID (§6.1.1's client rule).
func (g *Group) Key() string {
	if g.PublicID != "" {
		return g.PublicID
	}
	return g.ID
}

// GroupMember is one row of GET /organizations/groups/:id/members; userId is a "user_…" string here.
type GroupMember struct {
	UserID ID     `json:"userId"`
	Name   string `json:"name"`
	Email  string `json:"email"`
}

// Key is the lower-cased email, as Member.Key.
func (m *GroupMember) Key() string { return strings.ToLower(m.Email) }

// GroupsPage lists the organization's groups.
func (c *Client) GroupsPage(ctx context.Context, tok string) (Page[Group], error) {
	return list[Group](ctx, c, groupsPath, nil, "groups", tok)
}

// GroupByName finds the group named exactly name (case-sensitive), or nil.
// No match is an empty list, not a 404 (§6.1.1); the name is re-checked in
// case a server ignores the filter.
func (c *Client) GroupByName(ctx context.Context, name string) (*Group, error) {
	gs, err := all[Group](ctx, c, groupsPath, url.Values{"name": {name}}, "groups")
	if err != nil {
		return nil, err
	}
	var found *Group
	for i := range gs {
		if gs[i].Name != name {
			continue
		}
		if found != nil {
			return nil, cursorhttp.Errorf(codes.FailedPrecondition, "Cursor has two organization groups named %q; names must match exactly, including case", name)
		}
		found = &gs[i]
	}
	return found, nil
}

// GroupMembersPage lists one group's members; groupID is the group's id ("g_…").
func (c *Client) GroupMembersPage(ctx context.Context, groupID, tok string) (Page[GroupMember], error) {
	return list[GroupMember](ctx, c, groupsPath+"/"+url.PathEscape(groupID)+"/members", nil, "members", tok)
}

// Group reads one group by id ("g_…"): GET /organizations/groups/:id.
func (c *Client) Group(ctx context.Context, groupID string) (*Group, error) {
	var out struct{ Group Group }
	if err := c.do(ctx, http.MethodGet, groupsPath+"/"+url.PathEscape(groupID), nil, &out); err != nil {
		return nil, err
	}
	return &out.Group, nil
}

// GroupMembers reads every member of one group, 200 a request.
func (c *Client) GroupMembers(ctx context.Context, groupID string) ([]GroupMember, error) {
	return all[GroupMember](ctx, c, groupsPath+"/"+url.PathEscape(groupID)+"/members", nil, "members")
}

// MaxBulk is how many user ids one bulk-add or bulk-remove takes (§6.1).
const MaxBulk = 100

// AddGroupMembers adds userIDs ("user_…") to a manual group, MaxBulk a
// request, and returns how many Cursor says it added (people already in
// the group presumably count 0; undocumented). A SCIM-synced group refuses
// (FailedPrecondition naming the identity provider); callers that know the
// group is synced should refuse before sending.
func (c *Client) AddGroupMembers(ctx context.Context, groupID string, userIDs []string) (int, error) {
	return c.bulk(ctx, groupID, "bulk-add", "addedCount", userIDs)
}

// RemoveGroupMembers is AddGroupMembers' opposite (bulk-remove, removedCount).
func (c *Client) RemoveGroupMembers(ctx context.Context, groupID string, userIDs []string) (int, error) {
	return c.bulk(ctx, groupID, "bulk-remove", "removedCount", userIDs)
}

func (c *Client) bulk(ctx context.Context, groupID, op, countField string, userIDs []string) (int, error) {
	path := groupsPath + "/" + url.PathEscape(groupID) + "/members/" + op
	n := 0
	for chunk := range slices.Chunk(userIDs, MaxBulk) {
		var out map[string]int
		if err := c.do(ctx, http.MethodPost, path, map[string][]string{"userIds": chunk}, &out); err != nil {
			return n, err
		}
		n += out[countField]
	}
	return n, nil
}
