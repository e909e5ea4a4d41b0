package cursorapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
)

// Team-scoped groups, read and written with the team Admin API key:
// directory groups (/teams/directory-groups, docs/cursor-api.md §2.12) and
// billing groups (/teams/groups, §2.10). Both count against the team's 20
// requests a minute.
const (
	directoryGroupsPath = "/teams/directory-groups"
	billingGroupsPath   = "/teams/groups"
	groupPageSize       = 200 // third-party clients page at 100 and 200; no maximum is documented
	maxGroupPages       = 1000
	// MaxGroupBulk is how many user ids one directory-group bulk call takes.
	MaxGroupBulk = 100
)

// DirectoryGroup is a team directory group ("team_group_…"). Its shape is
// from third-party clients (§2.12): Cursor's reference section was not read.
type DirectoryGroup struct {
	ID                          string   `json:"id"`
	Name                        string   `json:"name"`
	MemberCount                 int      `json:"memberCount"`
	MonthlySpendingLimitDollars *float64 `json:"monthlySpendingLimitDollars"`
	// DirectoryGroupID, non-empty, marks a group pushed by the identity
	// provider through SCIM. Whether Cursor marks them, and with what field,
	// is not documented (§8.16); the name is billing groups' (§2.10).
	DirectoryGroupID *string `json:"directoryGroupId"`
}

// SCIMSynced: the identity provider owns the group's membership.
func (g *DirectoryGroup) SCIMSynced() bool {
	return g.DirectoryGroupID != nil && *g.DirectoryGroupID != ""
}

// GroupMember is a member row of a directory or billing group ("user_…" ids).
type GroupMember struct {
	UserID string `json:"userId"`
	Name   string `json:"name"`
	Email  string `json:"email"`
}

// DirectoryGroups lists every directory group of the key's team.
func (c *Client) DirectoryGroups(ctx context.Context) ([]DirectoryGroup, error) {
	return pages[DirectoryGroup](ctx, c, directoryGroupsPath, "groups")
}

// DirectoryGroupMembers lists one directory group's members.
func (c *Client) DirectoryGroupMembers(ctx context.Context, groupID string) ([]GroupMember, error) {
	return pages[GroupMember](ctx, c, directoryGroupsPath+"/"+url.PathEscape(groupID)+"/members", "members")
}

// AddDirectoryGroupMembers adds userIDs, MaxGroupBulk a request (bulk-add).
func (c *Client) AddDirectoryGroupMembers(ctx context.Context, groupID string, userIDs []string) error {
	return c.groupBulk(ctx, http.MethodPost, directoryGroupsPath+"/"+url.PathEscape(groupID)+"/members/bulk-add", userIDs)
}

// RemoveDirectoryGroupMembers removes userIDs, MaxGroupBulk a request (bulk-remove).
func (c *Client) RemoveDirectoryGroupMembers(ctx context.Context, groupID string, userIDs []string) error {
	return c.groupBulk(ctx, http.MethodPost, directoryGroupsPath+"/"+url.PathEscape(groupID)+"/members/bulk-remove", userIDs)
}

// BillingGroup is a billing group ("group_…"). A member is in at most one;
// the rest are in the reserved unassigned group (§2.10). A group linked to a
// directory group (DirectoryGroupID) is synced from SCIM and refuses writes.
type BillingGroup struct {
	ID               string        `json:"id"`
	Name             string        `json:"name"`
	Type             string        `json:"type"` // "BILLING"
	DirectoryGroupID *string       `json:"directoryGroupId"`
	MemberCount      int           `json:"memberCount"`
	CurrentMembers   []GroupMember `json:"currentMembers"`
}

// SCIMSynced: the group is linked to a SCIM directory group.
func (g *BillingGroup) SCIMSynced() bool {
	return g.DirectoryGroupID != nil && *g.DirectoryGroupID != ""
}

// BillingGroups returns the team's billing groups and the unassigned group,
// current members included (one request; the route is not paged).
func (c *Client) BillingGroups(ctx context.Context) (groups []BillingGroup, unassigned BillingGroup, err error) {
	resp, err := c.do(ctx, http.MethodGet, billingGroupsPath, nil)
	if err != nil {
		return nil, unassigned, err
	}
	var env struct {
		Groups     []BillingGroup `json:"groups"`
		Unassigned BillingGroup   `json:"unassignedGroup"`
	}
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		return nil, unassigned, cursorhttp.Errorf(codes.Internal, "Cursor returned a %s response of an unexpected shape (%d bytes)", billingGroupsPath, len(resp.Body))
	}
	return env.Groups, env.Unassigned, nil
}

// AddBillingGroupMembers moves userIDs into a billing group. Cursor refuses
// people who are in another billing group (§2.10): a caller moving someone
// removes them from their old group first.
func (c *Client) AddBillingGroupMembers(ctx context.Context, groupID string, userIDs []string) error {
	return c.groupBulk(ctx, http.MethodPost, billingGroupsPath+"/"+url.PathEscape(groupID)+"/members", userIDs)
}

// RemoveBillingGroupMembers moves userIDs back to the unassigned group
// (DELETE with a JSON body, as documented).
func (c *Client) RemoveBillingGroupMembers(ctx context.Context, groupID string, userIDs []string) error {
	return c.groupBulk(ctx, http.MethodDelete, billingGroupsPath+"/"+url.PathEscape(groupID)+"/members", userIDs)
}

// groupBulk sends {"userIds":[…]} in chunks of MaxGroupBulk (billing groups
// document no cap; the same one keeps each request small).
func (c *Client) groupBulk(ctx context.Context, method, path string, userIDs []string) error {
	for chunk := range slices.Chunk(userIDs, MaxGroupBulk) {
		body, err := json.Marshal(map[string][]string{"userIds": chunk})
		if err != nil {
			return cursorhttp.Errorf(codes.Internal, "encoding the %s request: %w", path, err)
		}
		if _, err := c.do(ctx, method, path, body); err != nil {
			return err
		}
	}
	return nil
}

// pages reads every page of a team list route holding field and a
// pagination object with hasNextPage.
func pages[T any](ctx context.Context, c *Client, path, field string) ([]T, error) {
	var out []T
	for page := 1; page <= maxGroupPages; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(groupPageSize)}}
		resp, err := c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		var env map[string]json.RawMessage
		var items []T
		var p pagination
		if json.Unmarshal(resp.Body, &env) != nil || json.Unmarshal(env[field], &items) != nil ||
			(len(env["pagination"]) > 0 && json.Unmarshal(env["pagination"], &p) != nil) {
			return nil, cursorhttp.Errorf(codes.Internal, "Cursor returned a %s response of an unexpected shape (%d bytes)", path, len(resp.Body))
		}
		out = append(out, items...)
		if !p.hasNext() || len(items) == 0 {
			return out, nil
		}
	}
	return nil, cursorhttp.Errorf(codes.Internal, "Cursor's %s still said hasNextPage after %d pages; giving up", path, maxGroupPages)
}
