package service

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/conductorone/baton-cursor/internal/cursorapi"
)

// readLogins reads the newest login events, at most loginPagesMax pages.
// Once a window's first page says how many it has, the others the cap
// allows are sent at once.
func (e *enrichment) readLogins(ctx context.Context, api activityAPI, start, end time.Time) {
	e.logins = map[string]time.Time{}
	pages := 0
	oldest := end
	for wEnd := end; wEnd.After(start); wEnd = wEnd.Add(-cursorapi.MaxAuditWindow) {
		wStart := maxTime(start, wEnd.Add(-cursorapi.MaxAuditWindow))
		var last cursorapi.AuditPage
		for page := 1; ; {
			if pages == loginPagesMax {
				// Newest first: everything from oldest on was read.
				e.loginsKnown, e.loginsSince = true, oldest
				e.mu.Lock()
				defer e.mu.Unlock()
				e.notes = append(e.notes, fmt.Sprintf("login events were read back to %s only (%d pages of %d, the newest)", oldest.UTC().Format(time.RFC3339), loginPagesMax, cursorapi.MaxAuditPageSize))
				return
			}
			n := 1
			if page > 1 && last.TotalPages >= page {
				n = min(last.TotalPages-page+1, loginPagesMax-pages)
			}
			got, ok := e.loginPages(ctx, api, cursorapi.AuditQuery{Start: wStart, End: wEnd, Types: []string{"login"}, Page: page, PageSize: cursorapi.MaxAuditPageSize}, n)
			if !ok {
				e.logins = nil
				return
			}
			pages, page = pages+n, page+n
			for _, p := range got {
				for _, ev := range p.Events {
					if ev.Timestamp.Before(oldest) {
						oldest = ev.Timestamp
					}
					key := strings.ToLower(strings.TrimSpace(ev.UserEmail))
					if key == "" || ev.Type != "login" {
						continue
					}
					if ev.Timestamp.After(e.logins[key]) {
						e.logins[key] = ev.Timestamp
					}
				}
			}
			if last = got[n-1]; !last.HasNextPage || len(last.Events) == 0 {
				break
			}
		}
	}
	e.loginsKnown, e.loginsSince = true, start
}

// loginPages reads n audit log pages from q.Page on, side by side; false
// when any failed.
func (e *enrichment) loginPages(ctx context.Context, api activityAPI, q cursorapi.AuditQuery, n int) ([]cursorapi.AuditPage, bool) {
	const what = "login events (last login)"
	got := make([]cursorapi.AuditPage, n)
	ok := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		if !e.takeLoginPage(what) {
			break
		}
		wg.Go(func() {
			q := q
			q.Page += i
			ok[i] = e.callTaken(ctx, what, true, func() (err error) {
				got[i], err = api.AuditLogs(ctx, q)
				return err
			})
		})
	}
	wg.Wait()
	return got, !slices.Contains(ok, false)
}

// takeLoginPage takes the first request of one of the newest login pages
// from the budget and counts it in loginsAsked under the same lock, so that
// leftBesideLogins never counts a page as neither asked nor taken.
func (e *enrichment) takeLoginPage(what string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.spend1Locked(what) {
		return false
	}
	e.loginsAsked++
	return true
}

// uncovered lists the members (emails as Cursor gave them) with neither a
// usage day nor a login in the newest pages when those did not reach start:
// for them "no activity" needs their own query. None when usage is unknown
// (no claim of no activity is made then) or the member was removed (Cursor
// drops a removed user's email from the audit log).
func (e *enrichment) uncovered(active []activeMember, start time.Time) []string {
	if !e.usageKnown || !e.loginsKnown || !e.loginsSince.After(start) {
		return nil
	}
	var out []string
	for _, m := range active {
		if e.usage[m.key] == nil && e.logins[m.key].IsZero() {
			out = append(out, m.email)
		}
	}
	return out
}

// activeMember is one of the roster's active members as buildSnapshot keeps
// them: the first active row of each key, the email trimmed.
type activeMember struct{ key, email string }

// activeMembers lists the active members of rows, sorted by key, as the
// snapshot's active list will (SCIM adds no active member: only accounts
// pending their first login).
func activeMembers(rows []cursorapi.Member) []activeMember {
	out := make([]activeMember, 0, len(rows))
	for _, r := range rows {
		if email := strings.TrimSpace(r.Email); !r.IsRemoved && email != "" {
			out = append(out, activeMember{key: strings.ToLower(email), email: email})
		}
	}
	// Sorted, a key's rows are side by side, the roster's first one first
	// (the sort is stable): no set of 100,000 keys to build beside the
	// snapshot.
	slices.SortStableFunc(out, func(a, b activeMember) int { return strings.Compare(a.key, b.key) })
	return slices.CompactFunc(out, func(a, b activeMember) bool { return a.key == b.key })
}

// windowsOf is how many audit log queries of at most MaxAuditWindow cover start..end.
func windowsOf(start, end time.Time) int {
	if !end.After(start) {
		return 0
	}
	return int((end.Sub(start) + cursorapi.MaxAuditWindow - 1) / cursorapi.MaxAuditWindow)
}

// readLoginsOf reads the login events of members (Cursor's users filter) from
// start to where the newest pages stopped, newest window first; members seen
// logging in are not asked for in older windows. Each member's coverage is
// kept: a batch cut short reaches back to its oldest event read.
func (e *enrichment) readLoginsOf(ctx context.Context, api activityAPI, members []string, start time.Time) {
	if len(members) == 0 {
		return
	}
	const what = "login events of members with no activity in the newest pages (no_activity_in_window)"
	e.readSince = map[string]time.Time{}
	found := map[string]time.Time{}
	defer e.mergeLoginsOf(slices.Clone(members), found, start)
	key := func(m string) string { return strings.ToLower(strings.TrimSpace(m)) }
	for wEnd := e.loginsSince; wEnd.After(start) && len(members) > 0; wEnd = wEnd.Add(-cursorapi.MaxAuditWindow) {
		wStart := maxTime(start, wEnd.Add(-cursorapi.MaxAuditWindow))
		// A window's batches side by side; each batch's pages in turn.
		batches := cursorapi.AuditUserBatches(members)
		founds := make([]map[string]time.Time, len(batches))
		whole := true
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, batch := range batches {
			// Each batch's first request is taken from the budget here, in
			// order: when it runs out, the later batches are the ones left out.
			if !e.spend1(what) {
				mu.Lock()
				whole = false
				mu.Unlock()
				break
			}
			founds[i] = map[string]time.Time{}
			wg.Go(func() {
				since, ok := e.loginsOfBatch(ctx, api, what, batch, wStart, wEnd, founds[i])
				mu.Lock()
				defer mu.Unlock()
				for _, m := range batch {
					e.readSince[key(m)] = since
				}
				whole = whole && ok
			})
		}
		wg.Wait()
		for _, f := range founds {
			maps.Copy(found, f) // batches hold distinct members
		}
		if !whole {
			return
		}
		members = slices.DeleteFunc(members, func(m string) bool { return !found[key(m)].IsZero() })
	}
}

// mergeLoginsOf adds the logins readLoginsOf found and says how far it got.
func (e *enrichment) mergeLoginsOf(asked []string, found map[string]time.Time, start time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, t := range found {
		if t.After(e.logins[k]) {
			e.logins[k] = t
		}
	}
	short := 0 // neither seen logging in nor read back to start
	for _, m := range asked {
		k := strings.ToLower(strings.TrimSpace(m))
		if since, ok := e.readSince[k]; found[k].IsZero() && (!ok || since.After(start)) {
			short++
		}
	}
	if short == 0 {
		e.notes = append(e.notes, fmt.Sprintf("the %d members with no usage and no login in those pages had their own login events read back to the window's start (Cursor's users filter; %d of them had logged in)", len(asked), len(found)))
		return
	}
	e.missing = append(e.missing, fmt.Sprintf("login events of %d of the %d members with no usage and no login in the newest pages were not read back to the window's start: their profiles show logins_read_since instead of no_activity_in_window", short, len(asked)))
}

// loginsOfBatch reads every page of one batch's logins in wStart..wEnd into
// found and returns how far back they were read; false when it stopped short.
// Its first request was taken from the budget already.
func (e *enrichment) loginsOfBatch(ctx context.Context, api activityAPI, what string, batch []string, wStart, wEnd time.Time, found map[string]time.Time) (time.Time, bool) {
	since := wEnd
	for page := 1; ; page++ {
		var p cursorapi.AuditPage
		if !e.callTaken(ctx, what, page == 1, func() (err error) {
			p, err = api.AuditLogs(ctx, cursorapi.AuditQuery{Start: wStart, End: wEnd, Types: []string{"login"}, Users: batch, Page: page, PageSize: cursorapi.MaxAuditPageSize})
			return err
		}) {
			return since, false
		}
		for _, ev := range p.Events {
			since = minTime(since, ev.Timestamp) // newest first: everything from here on was read
			key := strings.ToLower(strings.TrimSpace(ev.UserEmail))
			if key != "" && ev.Type == "login" && ev.Timestamp.After(found[key]) {
				found[key] = ev.Timestamp
			}
		}
		if !p.HasNextPage || len(p.Events) == 0 {
			return wStart, true
		}
	}
}
