package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/httpretry"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// Activity enrichment: once per roster snapshot, the plugin reads Cursor's
// daily usage, login events and spend and attaches them to the members. These
// routes share Cursor's 20-a-minute team limit with GET /teams/members, so
// enrichment spends at most enrichBudget requests (with the roster fetch, 19
// in a minute: no 429 from a sync on its own) and gives up on a part rather
// than wait: a sync never fails or stalls for it.
const (
	enrichBudget    = 18
	loginPagesMax   = 4     // 2,000 newest login events
	spendPageSize   = 1000  // undocumented maximum (docs/cursor-api.md §8.12)
	usageMaxMembers = 50000 // above this the usage answer (a row per active member-day) is too large to read in one sync
	enrichTimeout   = 45 * time.Second
)

// enrichRetry is the audit feed's schedule: a failed request is retried
// twice within 3 s; a 429's Retry-After (60 s at Cursor) is not waited for.
var enrichRetry = httpretry.Policy{
	Backoff:       []time.Duration{time.Second, 2 * time.Second},
	MaxRetryAfter: 2 * time.Second,
}

// Enrichment sends every HTTP request itself (singleShot) so each one is
// counted against enrichBudget: a 5xx or a network failure is retried after
// enrichBackoff, a 429 never (it stops the pass).
var (
	enrichBackoff = []time.Duration{time.Second, 2 * time.Second}
	singleShot    = httpretry.Policy{Backoff: []time.Duration{}}
)

// activityAPI is what enrichment and the audit feed need of the Admin API.
type activityAPI interface {
	AuditLogs(ctx context.Context, q cursorapi.AuditQuery) (cursorapi.AuditPage, error)
	ActiveDays(ctx context.Context, start, end time.Time) ([]cursorapi.UsageDay, error)
	SpendByAmount(ctx context.Context, page, pageSize int) (cursorapi.SpendPage, error)
}

// activityClient is admin with the enrichment retry schedule, or nil when
// admin cannot read activity (a test's fake).
func activityClient(admin adminAPI) activityAPI {
	switch a := admin.(type) {
	case *cursorapi.Client:
		return a.WithRetry(enrichRetry)
	case activityAPI:
		return a
	}
	return nil
}

// activityDays reads ConfigureRequest.activity_days: unset is 30.
func activityDays(req *pluginv1.ConfigureRequest) (int, error) {
	if req.ActivityDays == nil {
		return handshake.DefaultActivityDays, nil
	}
	d := int(req.GetActivityDays())
	if d > handshake.MaxActivityDays {
		return 0, status.Errorf(codes.InvalidArgument,
			"cursor-activity-days is %d: set it between 0 (off) and %d (Cursor keeps usage windows of 30 days; each 30 days costs a request)", d, handshake.MaxActivityDays)
	}
	return d, nil
}

// enrichment is what one pass read, keyed by member key. Its parts run
// concurrently; mu guards the request budget and the messages.
type enrichment struct {
	mu       sync.Mutex
	requests int
	missing  []string // what could not be read, and why
	notes    []string // read in part, by design
	stopped  bool     // rate-limited: send nothing more this pass

	usageKnown  bool
	usage       map[string]*usageFacts
	loginsKnown bool
	loginsSince time.Time            // the newest pages reach back to here
	logins      map[string]time.Time // key -> latest login read
	readSince   map[string]time.Time // key -> logins read from here on, when earlier than loginsSince
	spendKnown  bool                 // every member's spend was read
	spend       map[string]cursorapi.Spend
	cycleStart  time.Time
}

type usageFacts struct {
	days int
	last string
}

// enrichPass is one enrichment, begun when the roster read begins: its
// first requests (usage, the newest login events, spend's first page) need
// no roster, as answers are keyed by email and joined to the members after
// both are read. rosterIn sends the rest once the roster is in; finish
// joins it all to the snapshot.
type enrichPass struct {
	s          *Server
	api        activityAPI
	days       int
	start, end time.Time
	began      time.Time
	e          *enrichment
	ctx        context.Context
	cancel     context.CancelFunc
	first      sync.WaitGroup // the requests that need no roster
	second     sync.WaitGroup // those that do (rosterIn)
	teamSize   chan int       // active members (knowTeam), buffered 1
	spendTotal int            // spend's page count, 0 when page 1 failed
}

// startEnrich begins enrichment for a roster read that is starting; nil when
// activity is off. It never fails: what it cannot read becomes a WARNING
// diagnostic. The 45 s bound counts from here.
//
// Beside the roster read it sends at most 3 requests a 30-day window of
// usage, 4 login pages and spend's first page (8 at 90 days): a roster
// paged in up to 12 pages still meets no 429 of its own under Cursor's 20 a
// minute; the rest of the budget is spent after the roster is in.
func (s *Server) startEnrich(ctx context.Context, set *settings) *enrichPass {
	api, days := set.activity, set.activityDays
	if api == nil || days == 0 {
		return nil
	}
	if c, ok := api.(*cursorapi.Client); ok {
		api = c.WithRetry(singleShot)
	}
	p := &enrichPass{s: s, api: api, days: days, began: s.now(), e: &enrichment{}, teamSize: make(chan int, 1)}
	p.end = p.began.UTC()
	p.start = p.end.Add(-time.Duration(days) * 24 * time.Hour)
	p.ctx, p.cancel = context.WithTimeout(ctx, enrichTimeout)
	e := p.e
	// Daily usage is one answer of a row per active member-day, so it waits
	// to know the team's size: spend's first page says it (totalMembers)
	// long before a large roster is in.
	p.first.Go(func() {
		var n int
		select {
		case n = <-p.teamSize:
		case <-p.ctx.Done():
			return
		}
		if n > usageMaxMembers {
			e.miss(fmt.Sprintf("daily usage (active days, last_active_day): not read for a team of %d active members (more than %d); Cursor answers it in one response of a row per active member-day", n, usageMaxMembers))
			return
		}
		e.readUsage(p.ctx, api, p.start, p.end)
	})
	p.first.Go(func() { e.readLogins(p.ctx, api, p.start, p.end) })
	p.first.Go(func() {
		var members int
		p.spendTotal, members = e.spendPage(p.ctx, api, 1)
		if members > 0 {
			p.knowTeam(members)
		}
	})
	return p
}

// knowTeam tells the pass how many active members the team has; the first
// to say it (spend's first page, the roster read) decides.
func (p *enrichPass) knowTeam(active int) {
	if p == nil {
		return
	}
	select {
	case p.teamSize <- active:
	default:
	}
}

// stop abandons a pass whose roster read failed.
func (p *enrichPass) stop() {
	if p != nil {
		p.cancel()
		p.first.Wait()
		p.second.Wait()
	}
}

// rosterIn starts what needs the roster, once its rows are in (the SCIM
// listing may still run): the logins of members the first answers showed no
// activity of (so that "no activity" covers the whole window), and spend's
// other pages with what the budget leaves. A member's activity comes before
// the spend of the smallest spenders: it is what decides whether a seat is
// used.
func (p *enrichPass) rosterIn(rows []cursorapi.Member) {
	if p == nil {
		return
	}
	active := activeMembers(rows)
	p.knowTeam(len(active))
	e, api, start := p.e, p.api, p.start
	p.second.Go(func() {
		p.first.Wait()
		uncovered := e.uncovered(active, start)
		reserve := len(cursorapi.AuditUserBatches(uncovered)) * windowsOf(start, e.loginsSince)
		spendPages := enrichBudget - e.requests - reserve + 1 // + page 1, read
		var wg sync.WaitGroup
		wg.Go(func() { e.readLoginsOf(p.ctx, api, uncovered, start) })
		wg.Go(func() { e.readSpend(p.ctx, api, p.spendTotal, spendPages) })
		wg.Wait()
	})
}

// finish attaches what the pass read to every member of snap, which is not
// yet published.
func (p *enrichPass) finish(snap *snapshot) {
	if p == nil {
		return
	}
	defer p.cancel()
	p.second.Wait()
	e := p.e
	applyActivity(snap, e, p.days, p.start)
	snap.activityDiags = e.diagnostics()
	p.s.logger.Info("read member activity from Cursor", "enrichment_requests", e.requests, "budget", enrichBudget,
		"window_days", p.days, "usage", e.usageKnown, "logins", e.loginsKnown, "spend_rows", len(e.spend),
		"missing", len(e.missing), "duration", p.s.now().Sub(p.began).String())
}

func (e *enrichment) miss(why string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.missing = append(e.missing, why)
}

// call spends the budget on fn, one request per HTTP attempt (a 5xx or a
// network failure is tried again after enrichBackoff); false means stop
// this part.
func (e *enrichment) call(ctx context.Context, what string, fn func() error) bool {
	return e.callTaken(ctx, what, false, fn)
}

// callTaken is call whose first request was taken from the budget already
// when taken is true.
func (e *enrichment) callTaken(ctx context.Context, what string, taken bool, fn func() error) bool {
	for attempt := 0; ; attempt++ {
		if (attempt > 0 || !taken) && !e.spend1(what) {
			return false
		}
		err := fn()
		if err == nil {
			return true
		}
		if attempt == len(enrichBackoff) || !retryable(err) {
			e.failed(what, err)
			return false
		}
		if err := sleepCtx(ctx, enrichBackoff[attempt]); err != nil {
			e.failed(what, err)
			return false
		}
	}
}

// spend1 takes one request from the budget; false when the pass stopped or
// the budget ran out (said once per part).
func (e *enrichment) spend1(what string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.stopped:
		return false
	case e.requests >= enrichBudget:
		e.missing = append(e.missing, what+": the budget of "+fmt.Sprint(enrichBudget)+" requests per sync ran out")
		return false
	}
	e.requests++
	return true
}

// failed records why a part stopped; a 429 or the pass's deadline stops them all.
func (e *enrichment) failed(what string, err error) {
	var apiErr *cursorapi.APIError
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests:
		e.stopped = true
		e.missing = append(e.missing, what+": Cursor rate-limited it (HTTP 429; these routes share the team's 20 requests a minute with the roster); nothing more was asked this sync")
	case status.Code(err) == codes.PermissionDenied:
		e.missing = append(e.missing, what+": Cursor refused it (HTTP 403): the API key needs the admin scope for audit logs, usage and spend")
	case errors.Is(err, context.DeadlineExceeded):
		e.stopped = true
		e.missing = append(e.missing, what+fmt.Sprintf(": enrichment took longer than %s and was cut short", enrichTimeout))
	default:
		e.missing = append(e.missing, what+": "+err.Error())
	}
}

// retryable: a 5xx that means "try again", or no answer at all.
func retryable(err error) bool {
	var apiErr *cursorapi.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.Status {
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return status.Code(err) == codes.Unavailable
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *enrichment) readUsage(ctx context.Context, api activityAPI, start, end time.Time) {
	e.usage = map[string]*usageFacts{}
	for wEnd := end; wEnd.After(start); wEnd = wEnd.Add(-cursorapi.MaxAuditWindow) {
		wStart := maxTime(start, wEnd.Add(-cursorapi.MaxAuditWindow))
		var rows []cursorapi.UsageDay
		if !e.call(ctx, "daily usage (active days, last_active_day)", func() (err error) {
			rows, err = api.ActiveDays(ctx, wStart, wEnd)
			return err
		}) {
			e.usage = nil
			return
		}
		for _, r := range rows {
			key := strings.ToLower(strings.TrimSpace(r.Email))
			if key == "" {
				continue // a later-removed user's row: Cursor drops the email
			}
			f := e.usage[key]
			if f == nil {
				f = &usageFacts{}
				e.usage[key] = f
			}
			f.days++
			if r.Day > f.last { // YYYY-MM-DD sorts as text
				f.last = r.Day
			}
		}
	}
	e.usageKnown = true
}

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
	got := make([]cursorapi.AuditPage, n)
	ok := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			q := q
			q.Page += i
			ok[i] = e.call(ctx, "login events (last login)", func() (err error) {
				got[i], err = api.AuditLogs(ctx, q)
				return err
			})
		})
	}
	wg.Wait()
	return got, !slices.Contains(ok, false)
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
	seen := make(map[string]bool, len(rows))
	var out []activeMember
	for _, r := range rows {
		email := strings.TrimSpace(r.Email)
		key := strings.ToLower(email)
		if r.IsRemoved || email == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, activeMember{key: key, email: email})
	}
	slices.SortFunc(out, func(a, b activeMember) int { return strings.Compare(a.key, b.key) })
	return out
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

// readSpend reads the pages after page 1 (maxPages in all) all at once: the
// budget bounds how many (Cursor's limit counts requests a minute, not
// requests in flight), and a 10,000-member team's ten pages then cost one
// answer's wait. total is page 1's page count, 0 when it failed.
func (e *enrichment) readSpend(ctx context.Context, api activityAPI, total, maxPages int) {
	if total == 0 {
		return
	}
	var wg sync.WaitGroup
	read := 1
	for page := 2; page <= min(total, maxPages); page++ {
		wg.Go(func() {
			if pages, _ := e.spendPage(ctx, api, page); pages > 0 {
				e.mu.Lock()
				read++
				e.mu.Unlock()
			}
		})
	}
	wg.Wait()
	switch {
	case read >= total:
		e.spendKnown = true
	case total > maxPages:
		e.miss(fmt.Sprintf("spend (spend_cents, fast_premium_requests, spend limit): %d pages of %d members are more than the request budget allows; read for the %d largest spenders, the rest show spend_unknown",
			total, spendPageSize, len(e.spend)))
	default:
		e.miss(fmt.Sprintf("spend was read for %d members only, the rest show spend_unknown", len(e.spend)))
	}
}

// spendPage reads one page of spend into e.spend and returns the page count
// and the team's size (totalMembers, 0 when not given); 0, 0 when it failed.
func (e *enrichment) spendPage(ctx context.Context, api activityAPI, page int) (int, int) {
	var p cursorapi.SpendPage
	if !e.call(ctx, "spend (spend_cents, fast_premium_requests, spend limit)", func() (err error) {
		p, err = api.SpendByAmount(ctx, page, spendPageSize)
		return err
	}) {
		return 0, 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.spend == nil {
		e.spend = map[string]cursorapi.Spend{}
	}
	if !p.CycleStart.IsZero() {
		e.cycleStart = p.CycleStart
	}
	for _, r := range p.Rows {
		if key := strings.ToLower(strings.TrimSpace(r.Email)); key != "" {
			e.spend[key] = r
		}
	}
	return max(p.TotalPages, 1), p.TotalMember
}

// applyActivity gives every member an Activity. Members with nothing read
// share a message per login coverage (profiles only read it), which keeps a
// 100,000-member snapshot small.
func applyActivity(snap *snapshot, e *enrichment, days int, start time.Time) {
	windowStart := timestamppb.New(start)
	// One shared message per login coverage for members with nothing read.
	empty := map[time.Time]*pluginv1.Activity{}
	var newest *timestamppb.Timestamp // how far the newest pages reach, shared
	if e.loginsKnown {
		newest = timestamppb.New(e.loginsSince)
	}
	readSince := func(key string) *timestamppb.Timestamp {
		if t, ok := e.readSince[key]; ok && e.loginsKnown && t.Before(e.loginsSince) {
			return timestamppb.New(t)
		}
		return newest
	}
	var cycle *timestamppb.Timestamp
	if !e.cycleStart.IsZero() {
		cycle = timestamppb.New(e.cycleStart)
	}
	for _, m := range snap.all {
		u, login, spend := e.usage[m.Key], e.logins[m.Key], e.spend[m.Key]
		_, spent := e.spend[m.Key]
		since := readSince(m.Key)
		if u == nil && login.IsZero() && !spent {
			k := since.AsTime()
			if empty[k] == nil {
				empty[k] = &pluginv1.Activity{WindowDays: uint32(days), UsageKnown: e.usageKnown, LoginsKnown: e.loginsKnown, LoginsReadSince: since, WindowStart: windowStart}
			}
			m.Activity = empty[k]
			continue
		}
		a := &pluginv1.Activity{WindowDays: uint32(days), UsageKnown: e.usageKnown, LoginsKnown: e.loginsKnown, LoginsReadSince: since, WindowStart: windowStart}
		var last time.Time
		if u != nil {
			a.ActiveDays, a.LastActiveDay = uint32(u.days), u.last
			if d, err := time.Parse(time.DateOnly, u.last); err == nil {
				last = d
			}
		}
		if !login.IsZero() {
			a.LastLogin = timestamppb.New(login)
			if login.After(last) {
				last = login
			}
		}
		if !last.IsZero() {
			a.LastActivity = timestamppb.New(last)
		}
		if spent {
			a.SpendKnown, a.SpendCents, a.FastPremiumRequests, a.CycleStart = true, spend.SpendCents, uint32(max(spend.FastPremiumRequests, 0)), cycle
			if l := spendLimit(spend); l != nil {
				a.SpendLimitDollars = l
			}
		}
		m.Activity = a
	}
}

// spendLimit is the member's effective limit, else the monthly one, else a
// hard override; nil when Cursor returns none.
func spendLimit(s cursorapi.Spend) *float64 {
	switch {
	case s.EffectiveLimit != nil && *s.EffectiveLimit > 0:
		return s.EffectiveLimit
	case s.MonthlyLimitDollars != nil:
		return s.MonthlyLimitDollars
	case s.HardLimitOverride > 0:
		return &s.HardLimitOverride
	}
	return nil
}

func (e *enrichment) diagnostics() []*pluginv1.Diagnostic {
	var out []*pluginv1.Diagnostic
	for _, n := range e.notes {
		out = append(out, diag(pluginv1.Diagnostic_SEVERITY_INFO, "member activity: "+n, ""))
	}
	if len(e.missing) == 0 {
		return out
	}
	return append(out, diag(pluginv1.Diagnostic_SEVERITY_WARNING,
		fmt.Sprintf("member activity is incomplete (%d Cursor requests made): %s", e.requests, strings.Join(e.missing, "; ")),
		"The sync has every member and role; profiles say which activity facts are missing rather than showing no activity."))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
