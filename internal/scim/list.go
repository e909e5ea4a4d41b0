package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
)

// Listing /Users at scale. The first page says how many users there are
// (totalResults) and how many a page holds (the server's cap); the other pages
// are then fetched listInFlight at a time and put back in order.
//
// listPageSize is what we ask for. RFC 7644 §3.4.2.4 lets a server return
// fewer, and each caps differently: Cursor's server is most likely WorkOS
// Directory Sync (docs/cursor-api.md §4.4), which documents no maximum for count
// (nor does Cursor); WorkOS's own scim-bridge asks for 100, Slack caps at
// 1000, WSO2 at 100. So the first page's length is taken as the page size
// (not its itemsPerPage, which some servers, like the library the simulator
// is built on, set to the count asked for).
//
// Pace: WorkOS publishes no rate limit for its SCIM endpoint; the nearest it
// documents is its REST API's 6,000 requests per 60 s per key. A listing
// starts its pages at most that fast (one every listEvery, 100 a second),
// whatever the answers' latency, and keeps up to listInFlight going so that
// answers as slow as 160 ms still reach that pace. A directory of 50,000
// users in WorkOS-sized pages of 100 (scim-bridge's count) then takes at
// least 5 s, where 4 at a time took 12.5 s at 100 ms answers. A 429 is still
// honoured (Retry-After).
const (
	listPageSize = 1000
	listInFlight = 16
)

// listEvery is the least time between two page requests of a listing; a var
// so tests can see it.
var listEvery = 10 * time.Millisecond

// maxPages bounds a listing (ten million users at 1000 a page); a var so tests can lower it.
var maxPages = 10000

// listPage is one decoded page of a listing.
type listPage struct {
	total *int // totalResults; nil when the server left it out
	users []User
}

// list returns every user matching filter ("" for all). A listing that does
// not add up (a page shorter than announced, totalResults changing, a user
// twice) means the directory changed while it was read, so it is read again
// once; a second bad listing is an error rather than a roster that silently
// lacks or repeats people.
func (c *Client) list(ctx context.Context, filter string) ([]User, error) {
	users, err := c.listOnce(ctx, filter)
	var first *inconsistentError
	if !errors.As(err, &first) {
		return users, err
	}
	users, err = c.listOnce(ctx, filter)
	var again *inconsistentError
	if errors.As(err, &again) {
		return nil, cursorhttp.Errorf(codes.Unavailable, "Cursor's SCIM endpoint listed its users inconsistently twice (%s; then %s): "+
			"users were probably being added or removed meanwhile; sync again later", first.why, again.why)
	}
	return users, err
}

// inconsistentError says why a listing does not add up.
type inconsistentError struct{ why string }

func (e *inconsistentError) Error() string { return "inconsistent SCIM listing: " + e.why }

func inconsistent(format string, args ...any) error {
	return &inconsistentError{why: fmt.Sprintf(format, args...)}
}

func (c *Client) listOnce(ctx context.Context, filter string) ([]User, error) {
	first, err := c.getPage(ctx, filter, 1, listPageSize)
	if err != nil {
		return nil, err
	}
	if first.total == nil {
		return c.walk(ctx, filter, first)
	}
	total, per := *first.total, len(first.users)
	if per >= total {
		return distinct([][]User{first.users})
	}
	if per == 0 {
		return nil, inconsistent("totalResults was %d but the first page was empty", total)
	}
	pages := (total + per - 1) / per
	if pages > maxPages {
		return nil, internalf("Cursor's SCIM endpoint announced %d users in pages of %d for GET %s: more than %d pages; giving up", total, per, usersPath, maxPages)
	}
	results := make([][]User, pages)
	results[0] = first.users
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listInFlight)
	next := time.Now()
	for i := 1; i < pages && gctx.Err() == nil; i++ {
		if err := pace(gctx, &next); err != nil {
			break // the group's error (or ctx's) is returned below
		}
		start := 1 + i*per
		g.Go(func() error {
			p, err := c.getPage(gctx, filter, start, per)
			if err != nil {
				return err
			}
			switch want := min(per, total-(start-1)); {
			case len(p.users) > 0 && sameUser(p.users[0], first.users[0]):
				return ignoresStartIndex(start)
			case p.total == nil || *p.total != total:
				return inconsistent("totalResults went from %d to %s at startIndex=%d", total, totalText(p.total), start)
			case len(p.users) != want:
				return inconsistent("startIndex=%d returned %d users where %d were due (totalResults %d)", start, len(p.users), want, total)
			}
			results[i] = p.users
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, cursorhttp.TransportError(ctx, err)
	}
	return distinct(results)
}

// pace waits until *next, then sets it listEvery later.
func pace(ctx context.Context, next *time.Time) error {
	if d := time.Until(*next); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	*next = time.Now().Add(listEvery)
	return nil
}

// walk is the listing for servers that leave totalResults out: one page
// after another, each starting after the users received so far, until an
// empty page.
func (c *Client) walk(ctx context.Context, filter string, first listPage) ([]User, error) {
	pages := [][]User{first.users}
	start := 1 + len(first.users)
	for last := first.users; len(last) > 0; {
		if len(pages) >= maxPages {
			return nil, internalf("Cursor's SCIM endpoint returned more than %d pages for GET %s; giving up", maxPages, usersPath)
		}
		p, err := c.getPage(ctx, filter, start, listPageSize)
		if err != nil {
			return nil, err
		}
		if len(p.users) > 0 && sameUser(p.users[0], last[0]) {
			return nil, ignoresStartIndex(start)
		}
		pages = append(pages, p.users)
		start += len(p.users)
		last = p.users
	}
	return distinct(pages)
}

func ignoresStartIndex(start int) error {
	return internalf("Cursor's SCIM endpoint returned the same users for startIndex=%d as for an earlier page: it ignores startIndex, so GET %s cannot be paged", start, usersPath)
}

func sameUser(a, b User) bool { return a.ID == b.ID && a.UserName == b.UserName }

func totalText(total *int) string {
	if total == nil {
		return "absent"
	}
	return fmt.Sprint(*total)
}

// distinct joins the pages in order; a user id seen twice means users shifted
// between pages (someone was added or removed meanwhile), so one may be missing.
func distinct(pages [][]User) ([]User, error) {
	n := 0
	for _, p := range pages {
		n += len(p)
	}
	out := make([]User, 0, n)
	seen := make(map[string]bool, n)
	for _, p := range pages {
		for _, u := range p {
			if u.ID != "" {
				if seen[u.ID] {
					return nil, inconsistent("user id %q was listed twice", u.ID)
				}
				seen[u.ID] = true
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// getPage fetches count users from startIndex (1-based).
func (c *Client) getPage(ctx context.Context, filter string, startIndex, count int) (listPage, error) {
	q := fmt.Sprintf("startIndex=%d&count=%d", startIndex, count)
	if filter != "" {
		q = "filter=" + queryEscape(filter) + "&" + q
	}
	resp, err := c.call(ctx, http.MethodGet, usersPath, q, nil)
	if err != nil {
		return listPage{}, err
	}
	lr, err := decodeList(resp.Header, resp.Body)
	if err != nil {
		return listPage{}, err
	}
	p := listPage{total: lr.TotalResults, users: make([]User, len(lr.Resources))}
	for i, w := range lr.Resources {
		p.users[i] = w.user()
	}
	return p, nil
}
