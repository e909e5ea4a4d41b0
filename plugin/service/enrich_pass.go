package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/conductorone/baton-cursor/internal/cursorapi"
)

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
	spendEarly bool           // every spend page was asked beside the roster read (first)
}

// startEnrich begins enrichment for a roster read that is starting; nil when
// activity is off. It never fails: what it cannot read becomes a WARNING
// diagnostic. The 45 s bound counts from here. lastActive is the last
// roster's active members, 0 when this process has read none.
//
// Beside the roster read it sends at most 3 requests a 30-day window of
// usage, 4 login pages and spend's first page (8 at 90 days): a roster
// paged in up to 12 pages still meets no 429 of its own under Cursor's 20 a
// minute; the rest of the budget is spent after the roster is in. For a team
// of more than usageMaxMembers, spend's other pages go as soon as its first
// page says so: such a roster, if Cursor pages it at 500, takes 200 requests
// and many minutes whatever enrichment does; unpaged it is one request.
func (s *Server) startEnrich(ctx context.Context, set *settings, lastActive int) *enrichPass {
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
	p.first.Go(func() { p.usage(lastActive) })
	p.first.Go(func() { e.readLogins(p.ctx, api, p.start, p.end) })
	p.first.Go(func() {
		var members int
		p.spendTotal, members = e.spendPage(p.ctx, api, 1)
		if members > 0 {
			p.knowTeam(members)
		}
		if members > usageMaxMembers {
			// Usage is not read for such a team, so no member's logins
			// need a query of their own: what the login pages leave of the
			// budget is spend's, and its pages need not wait for the roster.
			p.spendEarly = true
			e.readSpend(p.ctx, api, p.spendTotal, e.leftBesideLogins()+1) // + page 1, read
		}
	})
	return p
}

// usage reads daily usage, one answer of a row per active member-day, so
// not for a team of more than usageMaxMembers. When the last roster this
// process read was small enough (a service's second sync on), it is asked
// at once and abandoned if spend's first page or the roster says the team
// has grown too large. Otherwise it waits for them to say how large the team
// is: for a team too large, the request would be one of the budget's spent
// on nothing.
func (p *enrichPass) usage(lastActive int) {
	e := p.e
	if lastActive == 0 || lastActive > usageMaxMembers {
		var n int
		select {
		case n = <-p.teamSize:
		case <-p.ctx.Done():
			return
		}
		if n > usageMaxMembers {
			e.miss(usageTooLarge(n))
		} else if e.readUsage(p.ctx, p.api, p.start, p.end) {
			e.miss(usageTooLarge(0))
		}
		return
	}
	ctx, cancel := context.WithCancelCause(p.ctx)
	defer cancel(nil)
	read := make(chan struct{})
	var tooLarge int
	var watch sync.WaitGroup
	watch.Go(func() {
		select {
		case n := <-p.teamSize:
			if n > usageMaxMembers {
				tooLarge = n
				cancel(errTeamTooLarge)
			}
		case <-read:
		}
	})
	capped := e.readUsage(ctx, p.api, p.start, p.end)
	close(read)
	watch.Wait()
	if (tooLarge > 0 || capped) && !e.usageKnown {
		e.miss(usageTooLarge(tooLarge))
	}
}

// errTeamTooLarge ends a usage read of a team found too large.
var errTeamTooLarge = errors.New("the team is too large for daily usage")

// usageTooLarge says why usage was not read for a team of n active members
// (0: its answer listed more than usageMaxMembers).
func usageTooLarge(n int) string {
	team := fmt.Sprintf("a team of %d active members (more than %d)", n, usageMaxMembers)
	if n == 0 {
		team = fmt.Sprintf("a team whose usage answer lists more than %d active members", usageMaxMembers)
	}
	return "daily usage (active days, last_active_day): not read for " + team + "; Cursor answers it in one response of a row per active member-day"
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
	e, api, start := p.e, p.api, p.start
	p.second.Go(func() {
		// Sorting 100,000 members takes a tenth of a second: not on the
		// roster's way to the snapshot.
		active := activeMembers(rows)
		p.knowTeam(len(active))
		p.first.Wait()
		uncovered := e.uncovered(active, start)
		reserve := len(cursorapi.AuditUserBatches(uncovered)) * windowsOf(start, e.loginsSince)
		var wg sync.WaitGroup
		wg.Go(func() { e.readLoginsOf(p.ctx, api, uncovered, start) })
		if !p.spendEarly {
			wg.Go(func() { e.readSpend(p.ctx, api, p.spendTotal, e.left(reserve)+1) }) // + page 1, read
		}
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
