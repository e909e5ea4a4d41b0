package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	ActiveDays(ctx context.Context, start, end time.Time, each func(cursorapi.UsageDay) error) error
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
	loginsAsked int                  // newest login pages asked for (at most loginPagesMax)
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
		if errors.Is(err, errTeamTooLarge) || errors.Is(context.Cause(ctx), errTeamTooLarge) {
			return false // the caller says why
		}
		if attempt == len(enrichBackoff) || !retryable(err) {
			e.failed(what, err)
			return false
		}
		if err := httpretry.Sleep(ctx, enrichBackoff[attempt]); err != nil {
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
	return e.spend1Locked(what)
}

func (e *enrichment) spend1Locked(what string) bool {
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

// left is how many requests the budget has beyond reserve (never below 0).
func (e *enrichment) left(reserve int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return max(enrichBudget-e.requests-reserve, 0)
}

// leftBesideLogins is left with the newest login pages not yet asked for
// reserved.
func (e *enrichment) leftBesideLogins() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return max(enrichBudget-e.requests-(loginPagesMax-e.loginsAsked), 0)
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

// readUsage reads daily usage a window at a time, as the answer arrives. A
// window of more than usageMaxMembers members ends it (tooLarge): a team that
// size is not read, whatever its size was thought to be.
func (e *enrichment) readUsage(ctx context.Context, api activityAPI, start, end time.Time) (tooLarge bool) {
	usage := map[string]*usageFacts{}
	for wEnd := end; wEnd.After(start); wEnd = wEnd.Add(-cursorapi.MaxAuditWindow) {
		wStart := maxTime(start, wEnd.Add(-cursorapi.MaxAuditWindow))
		var window map[string]*usageFacts
		if !e.call(ctx, "daily usage (active days, last_active_day)", func() error {
			window = map[string]*usageFacts{} // a retry reads the window again
			return api.ActiveDays(ctx, wStart, wEnd, func(r cursorapi.UsageDay) error {
				key := strings.ToLower(strings.TrimSpace(r.Email))
				if key == "" {
					return nil // a later-removed user's row: Cursor drops the email
				}
				f := window[key]
				if f == nil {
					if len(window) == usageMaxMembers {
						tooLarge = true
						return errTeamTooLarge
					}
					f = &usageFacts{}
					window[key] = f
				}
				f.days++
				if r.Day > f.last { // YYYY-MM-DD sorts as text
					f.last = r.Day
				}
				return nil
			})
		}) {
			return tooLarge
		}
		for key, w := range window {
			if f := usage[key]; f != nil {
				f.days += w.days
				f.last = max(f.last, w.last)
			} else {
				usage[key] = w
			}
		}
	}
	e.usage, e.usageKnown = usage, true
	return false
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
