package cursorapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/cursorhttp"
	"github.com/conductorone/baton-cursor/internal/httpretry"
)

// The activity routes (docs/cursor-api.md §2.4-2.6). Each has its own pagination
// object; all share the team's 20-a-minute limit with GET /teams/members.
const (
	auditLogsPath  = "/teams/audit-logs"
	dailyUsagePath = "/teams/daily-usage-data"
	spendPath      = "/teams/spend"

	// MaxAuditWindow is the longest startTime..endTime (and daily usage
	// startDate..endDate) Cursor accepts.
	MaxAuditWindow = 30 * 24 * time.Hour
	// MaxAuditPageSize is the largest audit log page.
	MaxAuditPageSize = 500
	// maxAuditUsersBytes bounds the users filter as sent (escaped): Cursor
	// takes up to pageSize users but documents no URL limit, and 500
	// addresses of 254 characters would make a 128 KB request line. 12 KB
	// keeps the request under the 16 KB of headers many servers accept
	// (Node.js's default); a refusal would show as missing activity.
	maxAuditUsersBytes = 12_000
)

// AuditUserBatches splits users into the users filters of as few audit log
// queries as Cursor allows: at most MaxAuditPageSize users each (Cursor's
// "maximum number of users per request equals pageSize"), and short enough
// to send.
func AuditUserBatches(users []string) [][]string {
	var out [][]string
	var cur []string
	size := 0
	for _, u := range users {
		n := len(url.QueryEscape(u)) + len("%2C")
		if len(cur) == MaxAuditPageSize || len(cur) > 0 && size+n > maxAuditUsersBytes {
			out, cur, size = append(out, cur), nil, 0
		}
		cur, size = append(cur, u), size+n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// WithRetry returns a client that shares c's connection pool and settings
// but retries by p (enrichment uses a short schedule so it never stalls a sync).
func (c *Client) WithRetry(p httpretry.Policy) *Client {
	cp := *c
	if p.OnRetry == nil {
		p.OnRetry = c.retry.OnRetry
	}
	if p.AttemptTimeout == 0 {
		p.AttemptTimeout = c.retry.AttemptTimeout
	}
	cp.retry = p
	return &cp
}

// AuditEvent is one event of GET /teams/audit-logs; the route's fields are snake_case.
type AuditEvent struct {
	ID        string    `json:"event_id"`
	Timestamp time.Time `json:"timestamp"`
	UserEmail string    `json:"user_email"` // the actor; empty for users who were later removed
	Type      string    `json:"event_type"`
	Data      struct {
		Email string `json:"email"` // add_user, remove_user and (presumably) update_user_role
	} `json:"event_data"`
}

// AuditQuery selects audit events.
type AuditQuery struct {
	Start, End time.Time // End-Start must not exceed MaxAuditWindow
	Types      []string  // eventTypes; empty = all
	Users      []string  // users (emails); empty = all; at most PageSize (see AuditUserBatches)
	Page       int       // 1-based
	PageSize   int       // 1..MaxAuditPageSize
}

// AuditPage is one page of audit events.
type AuditPage struct {
	Events      []AuditEvent
	TotalCount  int
	TotalPages  int
	HasNextPage bool
	TeamID      string // params.teamId: the key's team, as the organization audit log names it
}

// AuditLogs returns one page of the audit log. Times are sent as epoch ms.
func (c *Client) AuditLogs(ctx context.Context, q AuditQuery) (AuditPage, error) {
	v := url.Values{}
	v.Set("startTime", strconv.FormatInt(q.Start.UnixMilli(), 10))
	v.Set("endTime", strconv.FormatInt(q.End.UnixMilli(), 10))
	if len(q.Types) > 0 {
		v.Set("eventTypes", strings.Join(q.Types, ","))
	}
	if len(q.Users) > 0 {
		v.Set("users", strings.Join(q.Users, ","))
	}
	v.Set("page", strconv.Itoa(max(q.Page, 1)))
	v.Set("pageSize", strconv.Itoa(min(max(q.PageSize, 1), MaxAuditPageSize)))
	resp, err := c.do(ctx, http.MethodGet, auditLogsPath+"?"+v.Encode(), nil)
	if err != nil {
		return AuditPage{}, err
	}
	var body struct {
		Events     *[]AuditEvent `json:"events"`
		Pagination struct {
			TotalCount  int  `json:"totalCount"`
			TotalPages  int  `json:"totalPages"`
			HasNextPage bool `json:"hasNextPage"`
		} `json:"pagination"`
		Params struct {
			TeamID json.RawMessage `json:"teamId"` // a number in the doc's example
		} `json:"params"`
	}
	if err := decodeActivity(resp.Body, &body, "audit log"); err != nil {
		return AuditPage{}, err
	}
	if body.Events == nil {
		return AuditPage{}, cursorhttp.Errorf(codes.Internal, "Cursor returned an audit log response without an events list (%d bytes)", len(resp.Body))
	}
	p := body.Pagination
	team := strings.Trim(string(body.Params.TeamID), `"`)
	if team == "null" {
		team = ""
	}
	return AuditPage{Events: *body.Events, TotalCount: p.TotalCount, TotalPages: p.TotalPages, HasNextPage: p.HasNextPage, TeamID: team}, nil
}

// UsageDay is one active (member, day) of POST /teams/daily-usage-data.
type UsageDay struct {
	Email string // empty for users who were later removed
	Day   string // YYYY-MM-DD (UTC)
}

// ActiveDays hands each active (member, day) between start and end (at most
// MaxAuditWindow apart) to each, as the answer arrives: the route's
// unpaginated form, which lists only active users, in one request. An error
// of each ends the read and is returned as it is.
func (c *Client) ActiveDays(ctx context.Context, start, end time.Time, each func(UsageDay) error) error {
	req, _ := json.Marshal(map[string]int64{"startDate": start.UnixMilli(), "endDate": end.UnixMilli()})
	return c.doStream(ctx, http.MethodPost, dailyUsagePath, req, func(body io.Reader) error {
		ok, err := decodeUsage(body, each)
		var shape *usageShapeError
		switch {
		case errors.As(err, &shape):
			return cursorhttp.Errorf(codes.Internal, "Cursor returned a daily usage response of an unexpected shape: %s", shape)
		case err != nil:
			return err // each's, or the connection's (DoStream names it)
		case !ok:
			return cursorhttp.Errorf(codes.Internal, "Cursor returned a daily usage response without a data list")
		}
		return nil
	})
}

// Spend is one member's row of POST /teams/spend.
type Spend struct {
	Email               string   `json:"email"`
	SpendCents          float64  `json:"spendCents"` // fractional
	FastPremiumRequests int      `json:"fastPremiumRequests"`
	MonthlyLimitDollars *float64 `json:"monthlyLimitDollars"`
	EffectiveLimit      *float64 `json:"effectivePerUserLimitDollars"`
	HardLimitOverride   float64  `json:"hardLimitOverrideDollars"` // 0 = none
}

// SpendPage is one page of /teams/spend: totals at the top level, no pagination object.
type SpendPage struct {
	Rows        []Spend
	CycleStart  time.Time
	TotalPages  int
	TotalMember int
}

// SpendByAmount returns one page of current-cycle spend, largest first.
func (c *Client) SpendByAmount(ctx context.Context, page, pageSize int) (SpendPage, error) {
	req, _ := json.Marshal(map[string]any{"sortBy": "amount", "sortDirection": "desc", "page": page, "pageSize": pageSize})
	resp, err := c.do(ctx, http.MethodPost, spendPath, req)
	if err != nil {
		return SpendPage{}, err
	}
	var body struct {
		Rows       *[]Spend `json:"teamMemberSpend"`
		CycleStart int64    `json:"subscriptionCycleStart"`
		TotalPages int      `json:"totalPages"`
		Total      int      `json:"totalMembers"`
	}
	if err := decodeActivity(resp.Body, &body, "spend"); err != nil {
		return SpendPage{}, err
	}
	if body.Rows == nil {
		return SpendPage{}, cursorhttp.Errorf(codes.Internal, "Cursor returned a spend response without a teamMemberSpend list (%d bytes)", len(resp.Body))
	}
	out := SpendPage{Rows: *body.Rows, TotalPages: body.TotalPages, TotalMember: body.Total}
	if body.CycleStart > 0 {
		out.CycleStart = time.UnixMilli(body.CycleStart).UTC()
	}
	return out, nil
}

// decodeActivity decodes a 2xx body; its errors quote no body content.
func decodeActivity(body []byte, v any, what string) error {
	if err := json.Unmarshal(body, v); err != nil {
		return cursorhttp.Errorf(codes.Internal, "Cursor returned a %s response of an unexpected shape (%d bytes): %s", what, len(body), shapeError(err))
	}
	return nil
}

func shapeError(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("%s is a JSON %s, expected %s", typ.Field, typ.Value, typ.Type)
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("syntax error at offset %d", syn.Offset)
	}
	return "not the documented shape"
}
