package cursorapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
)

// Member is one row of GET /teams/members.
type Member struct {
	ID        string // "user_…", or a decimal number as text (early 2026, or beside a publicId); "" when absent
	PublicID  string // "publicId", the "user_…" id Cursor's own client reads beside a numeric id; "" when absent
	Email     string // as Cursor returned it
	Name      string
	Role      string // "owner", "member", "free-owner", or whatever else Cursor sends (e.g. "Org Admin")
	IsRemoved bool
}

const membersPath = "/teams/members"

// Paging. Cursor documents GET /teams/members as one answer holding the whole
// team, but its own Terraform provider sends page and pageSize and follows
// pagination.hasNextPage when the answer carries a pagination object
// (docs/cursor-api.md §2.1.1), so Cursor may page it now or later. We ask the
// same way: an answer without pagination (or with hasNextPage false) is the
// whole roster, so an unpaged team still costs one request.
//
// membersPageSize: the provider asks for 100, which at Cursor's 20 requests a
// minute would make a 100,000 roster 1,000 requests (50 minutes). 500 is the
// largest page any team list route documents (audit logs, 1-500); Cursor's
// paged routes clamp a larger pageSize (/organizations/members to 200) rather
// than refuse it, and we take the page size from the answer, not from what we
// asked. Whether /teams/members would refuse 500 is not documented.
const membersPageSize = 500

// maxMemberPages bounds one read of a server that says hasNextPage forever
// (1,000,000 members even at the provider's 100 a page); a var so tests can lower it.
var maxMemberPages = 10_000

// ListMembers returns the whole roster, every page of it. A paged read that
// does not add up (pagination's totalCount changing or not met, a page
// shorter than the page size before the last, a member on two pages) means
// the roster changed while it was read, so it is read again once from page
// 1; a second bad read is an error, never a merge that may lack or repeat
// people.
func (c *Client) ListMembers(ctx context.Context) ([]Member, error) {
	members, err := c.listMembersOnce(ctx)
	var first *rosterChangedError
	if !errors.As(err, &first) {
		return members, err
	}
	members, err = c.listMembersOnce(ctx)
	var again *rosterChangedError
	if errors.As(err, &again) {
		return nil, cursorhttp.Errorf(codes.Unavailable, "Cursor's roster changed while it was read twice (%s; then %s): "+
			"people were probably joining or leaving the team meanwhile; sync again later", first.why, again.why)
	}
	return members, err
}

// rosterChangedError says why a paged read does not add up. It names page
// numbers and counts only: rows are personal data.
type rosterChangedError struct{ why string }

func (e *rosterChangedError) Error() string {
	return "Cursor's roster changed while it was read: " + e.why
}

func changed(format string, args ...any) error {
	return &rosterChangedError{why: fmt.Sprintf(format, args...)}
}

func (c *Client) listMembersOnce(ctx context.Context) ([]Member, error) {
	members, first, err := c.membersPage(ctx, 1)
	if err != nil || !first.hasNext() {
		return members, err // not paged (or one page): today's single request
	}
	if len(members) == 0 {
		return nil, changed("page 1 was empty but said more pages follow")
	}
	if first.TotalCount != nil && *first.TotalCount > len(members) {
		members = slices.Grow(members, min(*first.TotalCount, maxPresized)-len(members))
	}
	// The page size is what page 1 held, not pagination.pageSize: some servers
	// echo the size asked for there whatever they cap pages at.
	per := len(members)
	seen := make(map[string]int, cap(members)) // a member's identity -> its page
	for i := range members {
		seen[identity(&members[i])] = 1
	}
	for page, more := 2, true; more; page++ {
		if page > maxMemberPages {
			return nil, cursorhttp.Errorf(codes.Internal, "Cursor's GET %s still said hasNextPage after %d pages; giving up", membersPath, maxMemberPages)
		}
		rows, p, err := c.membersPage(ctx, page)
		if err != nil {
			return nil, err
		}
		more = p.hasNext()
		switch {
		case len(rows) > 0 && rows[0] == members[0]:
			return nil, cursorhttp.Errorf(codes.Internal, "Cursor's GET %s returned page 1 again for page %d: it ignores page, so the roster cannot be read whole", membersPath, page)
		case !sameCount(first.TotalCount, p.TotalCount):
			return nil, changed("totalCount went from %s to %s at page %d", countText(first.TotalCount), countText(p.TotalCount), page)
		case more && len(rows) < per:
			return nil, changed("page %d held %d members where %d were due and more pages followed", page, len(rows), per)
		case len(rows) > per:
			return nil, changed("page %d held %d members, more than the page size of %d", page, len(rows), per)
		}
		for i := range rows {
			id := identity(&rows[i])
			if was, dup := seen[id]; dup {
				return nil, changed("a member of page %d was listed again on page %d", was, page)
			}
			seen[id] = page
		}
		members = append(members, rows...)
	}
	if first.TotalCount != nil && len(members) != *first.TotalCount {
		return nil, changed("the pages held %d members where totalCount said %d", len(members), *first.TotalCount)
	}
	return members, nil
}

// maxPresized caps what a totalCount may make us allocate up front.
const maxPresized = 1_000_000

// identity tells rows apart across pages: the ids when Cursor sends one, else
// the email and removal flag (a removed and an active seat may share an email).
func identity(m *Member) string {
	if id := cmp.Or(m.PublicID, m.ID); id != "" {
		return id
	}
	return fmt.Sprintf("%s\x00%t", strings.ToLower(m.Email), m.IsRemoved)
}

func sameCount(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func countText(n *int) string {
	if n == nil {
		return "absent"
	}
	return strconv.Itoa(*n)
}

// membersPage fetches one page (1-based) as Cursor's own client asks for it.
func (c *Client) membersPage(ctx context.Context, page int) ([]Member, *pagination, error) {
	q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(membersPageSize)}}
	resp, err := c.do(ctx, http.MethodGet, membersPath+"?"+q.Encode(), nil)
	if err != nil {
		return nil, nil, err
	}
	return decodeMembers(resp.Body)
}

// pagination is the object Cursor's paged list routes carry (docs/cursor-api.md
// §3.3): hasNextPage is what Cursor's own client follows; totalCount, when
// present, is checked. Without totalCount a member deleted from an earlier
// page mid-read (shifting a row onto a page already read) cannot be seen;
// Cursor usually keeps removed members as isRemoved rows, which shift nothing.
type pagination struct {
	HasNextPage *bool `json:"hasNextPage"`
	TotalCount  *int  `json:"totalCount"`
}

func (p *pagination) hasNext() bool { return p != nil && p.HasNextPage != nil && *p.HasNextPage }

type wireMember struct {
	ID        memberID `json:"id"`
	PublicID  memberID `json:"publicId"`
	Email     string   `json:"email"`
	Name      string   `json:"name"`
	Role      role     `json:"role"`
	IsRemoved bool     `json:"isRemoved"`
}

// decodeMembers accepts {"teamMembers":[…], "pagination":{…}} and the 2025
// bare array (never paged: its pagination is nil). Errors give offsets and
// sizes but never body content, which is personal data.
func decodeMembers(body []byte) ([]Member, *pagination, error) {
	// Size the slice up front: a 100k roster otherwise grows through ~17 copies.
	wire := make([]wireMember, 0, bytes.Count(body, []byte(`"email"`)))
	var page *pagination
	var err error
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		err = json.Unmarshal(body, &wire)
	} else {
		env := struct {
			TeamMembers *[]wireMember `json:"teamMembers"`
			Pagination  **pagination  `json:"pagination"`
		}{&wire, &page}
		err = json.Unmarshal(body, &env)
		if err == nil && len(wire) == 0 && !hasMemberList(body) {
			return nil, nil, cursorhttp.Errorf(codes.Internal, "Cursor returned a members response without a teamMembers list (%d bytes)", len(body))
		}
	}
	if err != nil {
		return nil, nil, &cursorhttp.Error{Code: codes.Internal, Err: describeDecodeError(err, len(body))}
	}
	out := make([]Member, len(wire))
	for i, w := range wire {
		out[i] = Member{ID: string(w.ID), PublicID: string(w.PublicID), Email: w.Email, Name: w.Name, Role: string(w.Role), IsRemoved: w.IsRemoved}
	}
	return out, page, nil
}

// hasMemberList tells an honest empty list from a missing or null one.
func hasMemberList(body []byte) bool {
	var probe struct {
		TeamMembers json.RawMessage `json:"teamMembers"`
	}
	return json.Unmarshal(body, &probe) == nil && len(probe.TeamMembers) > 0 && probe.TeamMembers[0] == '['
}

func describeDecodeError(err error, size int) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn): // its text can quote a body character, so only the offset is kept
		return fmt.Errorf("Cursor returned a members response that is not valid JSON (syntax error at offset %d of %d bytes)", syn.Offset, size)
	case errors.As(err, &typ):
		return fmt.Errorf("Cursor returned a members response of an unexpected shape (%s is a JSON %s, expected %s, at offset %d of %d bytes)", typ.Field, typ.Value, typ.Type, typ.Offset, size)
	}
	return fmt.Errorf("Cursor returned a members response of an unexpected shape (%w; %d bytes)", err, size)
}

// memberID accepts a JSON string, a JSON number (digits kept verbatim) or null.
type memberID string

func (id *memberID) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*id = ""
	case b[0] == '"':
		s, err := unquote(b)
		*id = memberID(s)
		return err
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*id = memberID(b) // encoding/json has already checked it is a valid number
	default:
		return errors.New("a member id is neither a string nor a number")
	}
	return nil
}

// role interns Cursor's three documented roles: one allocation fewer per member.
type role string

func (r *role) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"member"`:
		*r = "member"
	case `"owner"`:
		*r = "owner"
	case `"free-owner"`:
		*r = "free-owner"
	case "null":
		*r = ""
	default:
		if b[0] != '"' {
			return errors.New("a member role is not a string")
		}
		s, err := unquote(b)
		*r = role(s)
		return err
	}
	return nil
}

// unquote decodes a JSON string literal, skipping the generic decoder when
// there is nothing to unescape or repair.
func unquote(b []byte) (string, error) {
	if bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}
