package connector

import (
	"strconv"
	"strings"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/types/grant"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// orgUserPage is what one organization users page holds: one Cursor page of
// /organizations/members (cursororg.MaxPageSize), which the host cannot cut.
const orgUserPage = 200

// An organization users page and a page of team grants at the bounds (the
// longest address and name, every one of 50 teams with the longest role)
// fit the page budget.
func TestOrgPagesAtTheBoundsFit(t *testing.T) {
	users := make([]*v2.Resource, 0, orgUserPage)
	for i := range orgUserPage {
		email := longestEmail(i)
		m := &pluginv1.OrgMember{Key: email, Email: email, Name: strings.Repeat("Ø", 128),
			CursorId: strings.Repeat("9", 20), OrganizationRole: longestRole}
		for team := range 50 {
			m.Teams = append(m.Teams, &pluginv1.OrgTeamRole{TeamId: strconv.Itoa(1_000_000_000 + team), Role: longestRole})
		}
		r, err := OrgUserResource(m)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, r)
	}
	checkPage(t, "organization users", len(users), v2.ResourcesServiceListResourcesResponse_builder{List: users, NextPageToken: longestToken}.Build())

	team, err := GroupResource(OrgTeamResourceType, &pluginv1.OrgGroup{Key: "1000000000", Name: strings.Repeat("T", 256)})
	if err != nil {
		t.Fatal(err)
	}
	grants := make([]*v2.Grant, 0, grantPageSize)
	for i := range grantPageSize {
		grants = append(grants, grant.NewGrant(team, longestRole, userID(longestEmail(i))))
	}
	checkPage(t, "organization team grants", len(grants), v2.GrantsServiceListGrantsResponse_builder{List: grants, NextPageToken: longestToken}.Build())
}
