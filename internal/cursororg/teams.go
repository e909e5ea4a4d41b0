package cursororg

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
)

const syncPath = "/organizations/team-memberships/sync"

// OrganizationIDSetting names the organization id every write body carries.
// No documented route returns it (open question), so the operator sets it.
const OrganizationIDSetting = "cursor-organization-id"

type syncEntry struct {
	UserID  ID   `json:"userId"`
	TeamIDs []ID `json:"teamIds"`
}

type syncAnswer struct {
	Results []struct {
		UserID       ID     `json:"userId"`
		Status       string `json:"status"`
		ErrorMessage string `json:"errorMessage"`
	} `json:"results"`
}

// AddToTeam puts the person with this email on team teamID, keeping every
// other team they are on. POST /organizations/team-memberships/sync takes a
// user's complete team set and removes them from every linked team not
// listed (§6.1), so this reads their current set first (one filtered
// member look-up) and sends it with teamID added. sent is false when they
// were already on the team: nothing was written.
//
// Between the read and the write another change to the same person's teams
// would be lost; Cursor offers no version or condition to prevent that.
// The team role of a person added this way is Cursor's default (not
// documented; the body has no role field).
func (c *Client) AddToTeam(ctx context.Context, orgID, email string, teamID ID) (sent bool, err error) {
	return c.changeTeams(ctx, orgID, email, teamID, true)
}

// RemoveFromTeam takes the person off team teamID, keeping their other
// teams; sent is false when they were not on it. Removing someone's last
// team is refused: the sync route cannot offboard people from the
// organization (§6.1), and an empty set's meaning is undocumented.
func (c *Client) RemoveFromTeam(ctx context.Context, orgID, email string, teamID ID) (sent bool, err error) {
	return c.changeTeams(ctx, orgID, email, teamID, false)
}

func (c *Client) changeTeams(ctx context.Context, orgID, email string, teamID ID, add bool) (bool, error) {
	if !strings.HasPrefix(orgID, "org_") {
		return false, cursorhttp.Errorf(codes.FailedPrecondition, "changing team memberships needs %s, the organization's id (org_…): set it", OrganizationIDSetting)
	}
	found, err := c.FindMembers(ctx, []string{email})
	if err != nil {
		return false, err
	}
	m, ok := found[strings.ToLower(email)]
	if !ok {
		return false, cursorhttp.Errorf(codes.FailedPrecondition, "%s is not a member of the organization; Cursor's team-memberships sync only moves existing members between teams (invite them first)", email)
	}
	teams := make([]ID, 0, len(m.Teams)+1)
	for _, t := range m.Teams {
		teams = append(teams, t.TeamID)
	}
	has := slices.Contains(teams, teamID)
	switch {
	case add && has, !add && !has:
		return false, nil
	case add:
		teams = append(teams, teamID)
	case len(teams) == 1:
		return false, cursorhttp.Errorf(codes.FailedPrecondition, "team %s is %s's only team; removing it would leave them in no team, which Cursor's team-memberships sync cannot do: remove them from the organization in the dashboard", teamID, email)
	default:
		teams = slices.DeleteFunc(teams, func(t ID) bool { return t == teamID })
	}
	body := map[string]any{"organizationId": orgID, "users": []syncEntry{{UserID: m.UserID, TeamIDs: teams}}}
	var ans syncAnswer
	if err := c.do(ctx, http.MethodPost, syncPath, body, &ans); err != nil {
		return true, err
	}
	for _, r := range ans.Results {
		if r.Status != "success" {
			quoted, _ := json.Marshal(r.ErrorMessage)
			r.ErrorMessage = cursorhttp.ServerText(quoted, c.key) // server text: cleaned and capped like any other
			e := &APIError{Status: http.StatusConflict, Message: r.ErrorMessage, Path: syncPath, Attempts: 1}
			if e.ManagedByIdentityProvider() {
				return true, e
			}
			return true, cursorhttp.Errorf(codes.FailedPrecondition, "Cursor refused to change %s's teams (%s)", email, cmp.Or(r.ErrorMessage, r.Status))
		}
	}
	if len(ans.Results) != 1 {
		return true, cursorhttp.Errorf(codes.Internal, "Cursor answered a one-user team-memberships sync with %d results", len(ans.Results))
	}
	return true, nil
}
