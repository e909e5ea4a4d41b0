package simulator

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// The activity history behind GET /teams/audit-logs, POST
// /teams/daily-usage-data and POST /teams/spend (docs/cursor-api.md §2.4-2.6). It
// is a pure function of the seed, the row and the day the history ends, so
// the same Config gives the same answers. It covers HistoryDays whole UTC
// days before the day of Config.ActivityNow (that day itself has no activity).
const HistoryDays = 60

// Rows with a fixed activity pattern, for any team of at least 20 members.
const (
	RowActiveYesterday = idxPlainMember // active (usage and a login) yesterday
	RowNeverLoggedIn   = 5              // no login event and no active day, ever
	RowStale           = 6              // active only 31..60 days ago, so not in a 30-day window
	RowLoginAfterUse   = 8              // last active 3 days ago, last login 1 day ago
	RowRemovedActive   = idxRemoved     // removed; its own events and usage rows carry no email
)

// ActivityFaults are failure modes of the three activity routes only; the
// Faults of Config apply to the roster routes only. The rate limit of
// Config.RateLimitPerMinute is shared by all.
type ActivityFaults struct {
	Forbidden    bool // answer 403 (a key without the scope these routes need)
	ServerErrors int  // the next N answers are 503; -1 = every answer is 500
	RateLimited  int  // the next N answers are 429 with Retry-After: 60
}

// activityHistory is generated on the first activity request.
type activityHistory struct {
	today   time.Time // 00:00 UTC of the day the history ends (exclusive)
	active  []uint64  // per row: bit d set = active on day d (1 = yesterday .. HistoryDays)
	events  []auditEvent
	numRows int // rows the history was generated for
}

type auditEvent struct {
	id     string
	at     time.Time
	actor  int // row of the actor; -1 = no user_email (the actor was removed)
	kind   string
	target int // row the event is about (add/remove/update role); -1 = none
	ip     string
}

// dayStart is 00:00 UTC of day d before today (d = 1 is yesterday).
func (h *activityHistory) dayStart(d int) time.Time { return h.today.AddDate(0, 0, -d) }

// activeDays reports the days row i was active, as a bit set over days 1..HistoryDays.
func (g generator) activeDays(i int, m Member) uint64 {
	x := splitmix(g.seed ^ 0xac71_0000_0000 ^ uint64(i)*0x9e37)
	class := x % 10 // beyond the fixed rows: 10% never logged in, 10% stale (half of them with a login 29 days ago: loginOnlyLongAgo)
	switch {
	case i == RowNeverLoggedIn, i >= fixedRows && class == 0:
		return 0
	case i == RowStale, i >= fixedRows && class == 1:
		return uint64(1)<<(31+x>>8%29) | uint64(1)<<(31+x>>16%29)
	}
	var days uint64
	n := 1 + int(x>>8%8) // active days in the last 30
	for k := 0; k < n; k++ {
		days |= uint64(1) << (1 + (x>>(12+4*k))%30)
	}
	days |= uint64(1) << (31 + x>>48%29)
	switch i {
	case RowActiveYesterday:
		days |= 1 << 1
	case RowLoginAfterUse:
		days = 1<<3 | 1<<10
	}
	if m.IsRemoved { // nothing after the removal
		days &^= (uint64(1) << (removalDay(g, i) + 1)) - 1
	}
	return days
}

// loginOnlyLongAgo: half of the stale rows past the fixed ones logged in 29
// days ago without using Cursor since. In a 30-day window that login is their
// only activity, older than the newest login events of a large team.
func (g generator) loginOnlyLongAgo(i int, m Member) bool {
	x := splitmix(g.seed ^ 0xac71_0000_0000 ^ uint64(i)*0x9e37)
	return i >= fixedRows && x%10 == 1 && x>>60&1 == 0 && !m.IsRemoved
}

// removalDay is the day a removed row's remove_user event happened (1..29).
func removalDay(g generator, i int) int {
	return 1 + int(splitmix(g.seed^0x5e77_0000^uint64(i))%29)
}

// newActivityHistory generates the history for the current members.
func newActivityHistory(g generator, members []Member, now time.Time) *activityHistory {
	now = now.UTC()
	h := &activityHistory{
		today:   time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC),
		active:  make([]uint64, len(members)),
		numRows: len(members),
	}
	admin := 0 // row 0 is always an owner
	seq := 0
	add := func(d int, secOfDay uint64, actor int, kind string, target int) {
		seq++
		h.events = append(h.events, auditEvent{
			id:     "evt_" + strconv.FormatUint(splitmix(g.seed^uint64(seq)*0x2545f491)%(1<<48), 36) + strconv.Itoa(seq),
			at:     h.dayStart(d).Add(time.Duration(secOfDay%86400)*time.Second + time.Duration(seq%1000)*time.Millisecond),
			actor:  actor,
			kind:   kind,
			target: target,
			ip:     fmt.Sprintf("198.51.100.%d", 1+seq%250),
		})
	}
	for i, m := range members {
		days := g.activeDays(i, m)
		h.active[i] = days
		actor := i
		if m.IsRemoved {
			actor = -1 // Cursor drops the email of users who were later removed (F-REM2)
		}
		x := splitmix(g.seed ^ 0x1061_0000 ^ uint64(i))
		for d := 1; d <= HistoryDays; d++ {
			// A login on the first active day of each stretch, and on a third of the rest.
			if days&(1<<d) != 0 && (days&(1<<(d+1)) == 0 || (x>>(d%60))%3 == 0) {
				add(d, x>>d, actor, "login", -1)
			}
		}
		if i == RowLoginAfterUse {
			add(1, 9*3600, actor, "login", -1)
		}
		if g.loginOnlyLongAgo(i, m) {
			add(29, x>>5, actor, "login", -1)
		}
		if m.IsRemoved {
			add(removalDay(g, i), x>>7, admin, "remove_user", i)
		}
		if i >= fixedRows && i%11 == 4 {
			add(1+int(x%HistoryDays), x>>11, admin, "add_user", i)
		}
		if m.Role == "owner" && i%5 == 0 && i > 0 {
			add(1+int(x>>20%HistoryDays), x>>13, admin, "update_user_role", i)
		}
	}
	for d := 1; d <= HistoryDays; d += 7 {
		add(d, 12*3600, admin, "team_settings", -1)
	}
	// Newest first, as Cursor's examples are.
	slices.SortStableFunc(h.events, func(a, b auditEvent) int { return b.at.Compare(a.at) })
	return h
}

// historyLocked returns the activity history, generating it on first use.
func (t *Tenant) historyLocked() *activityHistory {
	if t.history == nil {
		now := t.activityNow
		if now.IsZero() {
			now = time.Now()
		}
		t.history = newActivityHistory(t.gen, t.members, now)
	}
	return t.history
}

// ActivityToday is 00:00 UTC of the day the activity history ends: day d of
// the history (1 = the day before) starts at ActivityToday().AddDate(0, 0, -d).
func (t *Tenant) ActivityToday() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.historyLocked().today
}

// ActiveDays lists the days (1 = yesterday) row i was active, newest first.
func (t *Tenant) ActiveDays(row int) []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.historyLocked()
	var out []int
	if row < len(h.active) {
		for d := 1; d <= HistoryDays; d++ {
			if h.active[row]&(1<<d) != 0 {
				out = append(out, d)
			}
		}
	}
	return out
}

// AuditEvent is one event of the simulated audit log, as served.
type AuditEvent struct {
	ID        string
	Timestamp time.Time
	UserEmail string // "" when the event carries none
	Type      string
	Email     string // event_data.email, for add_user, remove_user and update_user_role
}

// AuditEvents returns the whole audit log, newest first.
func (t *Tenant) AuditEvents() []AuditEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.historyLocked()
	out := make([]AuditEvent, len(h.events))
	for i, e := range h.events {
		out[i] = AuditEvent{ID: e.id, Timestamp: e.at, Type: e.kind}
		if e.actor >= 0 {
			out[i].UserEmail = t.members[e.actor].Email
		}
		if e.target >= 0 {
			out[i].Email = t.members[e.target].Email
		}
	}
	return out
}

// spendOf is row i's current-cycle spend: fractional cents (docs/cursor-api.md
// §2.6), premium requests, and a monthly limit for one row in five.
func (g generator) spendOf(i int) (cents float64, fast int, limit *float64) {
	x := splitmix(g.seed ^ 0x5fe0_0000 ^ uint64(i))
	cents = float64(x%500_000) / 16 // up to ~$312, with fractions
	fast = int(x >> 20 % 500)
	if x>>40%5 == 0 {
		l := float64(50 * (1 + x>>44%4))
		limit = &l
	}
	return cents, fast, limit
}

func validateActivity(cfg Config) error {
	var errs []error
	if cfg.RateLimitPerMinute < 0 {
		errs = append(errs, fmt.Errorf("RateLimitPerMinute must be >= 0, got %d", cfg.RateLimitPerMinute))
	}
	if f := cfg.ActivityFaults; f.ServerErrors < -1 || f.RateLimited < 0 {
		errs = append(errs, errors.New("ActivityFaults.ServerErrors must be >= -1 and RateLimited >= 0"))
	}
	return errors.Join(errs...)
}
