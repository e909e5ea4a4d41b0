package cursororg

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
)

// MaxPageSize is the largest page /organizations/members serves: a larger
// pageSize is clamped to it (docs/cursor-api.md §6.1). The doc gives no maximum
// for groups, group members or audit logs (§8.12); third-party clients page
// those at 200 too, so every list here asks for 200.
const MaxPageSize = 200

// Page is one page of a list. Next is "" on the last page, else an opaque
// token that resumes the list at the following page, in this process or a
// later one (it holds a page number, not a cursor: Cursor has none, §3.3).
type Page[T any] struct {
	Items      []T
	Next       string
	TotalCount int
	// Changed: the list's totalCount differs from the one the token was
	// made with, so people joined or left between the pages and a page-number
	// read may have skipped or repeated someone; a full sync should re-read.
	Changed bool
}

// pagination is the object Cursor's newer list routes carry (§3.3).
type pagination struct {
	Page        int  `json:"page"`
	TotalCount  int  `json:"totalCount"`
	HasNextPage bool `json:"hasNextPage"`
}

// token is "<list>:<page>:<totalCount>". list is the route, so a token from
// one list cannot resume another.
func makeToken(list string, page, total int) string {
	return fmt.Sprintf("%s:%d:%d", list, page, total)
}

func parseToken(list, tok string) (page, total int, err error) {
	if tok == "" {
		return 1, -1, nil
	}
	rest, ok := strings.CutPrefix(tok, list+":")
	p, t, ok2 := strings.Cut(rest, ":")
	page, err1 := strconv.Atoi(p)
	total, err2 := strconv.Atoi(t)
	if !ok || !ok2 || err1 != nil || err2 != nil || page < 1 || total < 0 {
		return 0, 0, cursorhttp.Errorf(codes.InvalidArgument, "page token %q is not one this connector made for %s; start the sync again", tok, list)
	}
	return page, total, nil
}

// list fetches the page of path that tok names; field is the JSON array
// holding the items ("members", "groups", "events").
func list[T any](ctx context.Context, c *Client, path string, q url.Values, field, tok string) (Page[T], error) {
	page, total, err := parseToken(path, tok)
	if err != nil {
		return Page[T]{}, err
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("page", strconv.Itoa(page))
	q.Set("pageSize", strconv.Itoa(MaxPageSize))
	var env map[string]json.RawMessage
	if err := c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &env); err != nil {
		return Page[T]{}, err
	}
	var out Page[T]
	raw, ok := env[field]
	if !ok || len(raw) == 0 || raw[0] != '[' {
		return out, cursorhttp.Errorf(codes.Internal, "Cursor returned a %s response without a %s list", path, field)
	}
	if err := json.Unmarshal(raw, &out.Items); err != nil {
		return out, cursorhttp.Errorf(codes.Internal, "Cursor returned a %s response of an unexpected shape: %s", path, decodeErrorKind(err))
	}
	var p pagination
	if pr := env["pagination"]; len(pr) > 0 && string(pr) != "null" {
		if err := json.Unmarshal(pr, &p); err != nil {
			return out, cursorhttp.Errorf(codes.Internal, "Cursor returned a %s pagination object of an unexpected shape: %s", path, decodeErrorKind(err))
		}
	} else {
		p.TotalCount = len(out.Items) // no pagination object: the whole list in one answer
	}
	out.TotalCount = p.TotalCount
	out.Changed = total >= 0 && total != p.TotalCount
	if p.HasNextPage {
		if len(out.Items) == 0 {
			return out, cursorhttp.Errorf(codes.Internal, "Cursor's %s page %d was empty but said more pages follow", path, page)
		}
		out.Next = makeToken(path, page+1, p.TotalCount)
	}
	return out, nil
}

// all reads every page of a short list (a filtered look-up); maxPages
// bounds a server that says hasNextPage forever.
func all[T any](ctx context.Context, c *Client, path string, q url.Values, field string) ([]T, error) {
	var items []T
	tok := ""
	for range 1000 {
		p, err := list[T](ctx, c, path, cloneValues(q), field, tok)
		if err != nil {
			return nil, err
		}
		items = append(items, p.Items...)
		if tok = p.Next; tok == "" {
			return items, nil
		}
	}
	return nil, cursorhttp.Errorf(codes.Internal, "Cursor's %s still said hasNextPage after 1000 pages; giving up", path)
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// ID is a user or team id that Cursor sends as a JSON number on some routes
// and a string on others (§8.1); it keeps the digits or the string as text.
type ID string

func (id *ID) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*id = ID(n)
		return nil
	}
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("an id is neither a string nor a number")
	}
	if s != nil {
		*id = ID(*s)
	}
	return nil
}

// MarshalJSON sends digits as a JSON number (the doc's examples: userId
// 12345, teamIds [7,8]) and anything else ("user_…") as a string.
func (id ID) MarshalJSON() ([]byte, error) {
	if _, err := strconv.ParseInt(string(id), 10, 64); err == nil {
		return []byte(id), nil
	}
	return json.Marshal(string(id))
}
