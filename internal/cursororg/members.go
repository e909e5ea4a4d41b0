package cursororg

import (
	"context"
	"net/url"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
)

const membersPath = "/organizations/members"

// Member is one row of GET /organizations/members (docs/cursor-api.md §6.1).
type Member struct {
	// UserID is a number in the doc, "matching the id of /teams/members",
	// which the 2026-08 team doc gives as a "user_…" string (§8.1): either
	// form is kept as text. Email, lower-cased, is the identity the
	// connector uses across routes (Key).
	UserID           ID         `json:"userId"`
	Email            string     `json:"email"`
	Name             string     `json:"name"`
	OrganizationRole string     `json:"organizationRole"` // "admin", "member", or any other string Cursor sends
	Teams            []TeamRole `json:"teams"`
}

// TeamRole is one team of a member and their role in it.
type TeamRole struct {
	TeamID ID     `json:"teamId"`
	Role   string `json:"teamRole"` // "owner", "member", "free-owner", or any other string
}

// Key is the person's identity across teams and routes: the lower-cased
// email (every Cursor route carries it; the id forms differ per route).
func (m *Member) Key() string { return strings.ToLower(m.Email) }

// MaxFilterValues is how many comma-separated emails or user ids one
// request's filter may carry (week of Sep 14, 2026, §6.1).
const MaxFilterValues = 100

// MemberFilter narrows GET /organizations/members. The zero value lists everyone.
type MemberFilter struct {
	Emails           []string // up to MaxFilterValues; sent lower-cased (whether Cursor folds case is not stated)
	UserIDs          []string // up to MaxFilterValues
	Search           string
	OrganizationRole string // "admin" or "member"
	TeamID           string
}

func (f MemberFilter) query() (url.Values, error) {
	if len(f.Emails) > MaxFilterValues || len(f.UserIDs) > MaxFilterValues {
		return nil, cursorhttp.Errorf(codes.InvalidArgument, "a member look-up takes at most %d emails and %d user ids (got %d and %d)", MaxFilterValues, MaxFilterValues, len(f.Emails), len(f.UserIDs))
	}
	q := url.Values{}
	if len(f.Emails) > 0 {
		lower := make([]string, len(f.Emails))
		for i, e := range f.Emails {
			lower[i] = strings.ToLower(e)
		}
		q.Set("email", strings.Join(lower, ","))
	}
	if len(f.UserIDs) > 0 {
		q.Set("userId", strings.Join(f.UserIDs, ","))
	}
	for k, v := range map[string]string{"search": f.Search, "organizationRole": f.OrganizationRole, "teamId": f.TeamID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q, nil
}

// MembersPage returns the page of the organization's members that tok
// names ("" for the first), 200 a page. A 100,000-person organization is
// 500 pages: at 20 requests a minute, 25 minutes, so a sync hands each page
// to baton-sdk with its Next token and resumes there.
func (c *Client) MembersPage(ctx context.Context, f MemberFilter, tok string) (Page[Member], error) {
	q, err := f.query()
	if err != nil {
		return Page[Member]{}, err
	}
	return list[Member](ctx, c, membersPath, q, "members", tok)
}

// FindMembers looks people up by email (any number; MaxFilterValues a
// request) and returns those found, keyed by Key. The answer is re-checked
// ignoring case, since whether Cursor's filter does is not documented.
func (c *Client) FindMembers(ctx context.Context, emails []string) (map[string]Member, error) {
	want := make(map[string]bool, len(emails))
	for _, e := range emails {
		want[strings.ToLower(e)] = true
	}
	found := make(map[string]Member, len(emails))
	for start := 0; start < len(emails); start += MaxFilterValues {
		q, err := MemberFilter{Emails: emails[start:min(start+MaxFilterValues, len(emails))]}.query()
		if err != nil {
			return nil, err
		}
		ms, err := all[Member](ctx, c, membersPath, q, "members")
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if want[m.Key()] {
				found[m.Key()] = m
			}
		}
	}
	return found, nil
}

// MembersToken is the token of page (from 1) of the unfiltered member list
// whose first page counted total people: what a caller that keeps pages by
// number passes to MembersPage to read that page again ("" for page 1).
func MembersToken(page, total int) string {
	if page <= 1 {
		return ""
	}
	return makeToken(membersPath, page, total)
}

// MembersTokenPage reads the page number and total back from a token of
// MembersPage (page 1 and total -1 for "").
func MembersTokenPage(tok string) (page, total int, err error) {
	return parseToken(membersPath, tok)
}
