package cursorapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/httpretry"
)

func TestAuditLogsSendsEpochMillisAndDecodesSnakeCase(t *testing.T) {
	var query string
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		io.WriteString(w, `{"events":[{"event_id":"evt_1","timestamp":"2026-03-02T08:01:44.120Z","ip_address":"198.51.100.9",
			"user_email":"Dana@Example.com","event_type":"remove_user","event_data":{"email":"gone@example.com"}}],
			"pagination":{"page":1,"pageSize":500,"totalCount":1,"totalPages":1,"hasNextPage":false,"hasPreviousPage":false},
			"params":{"teamId":1,"startDate":1,"endDate":2}}`)
	})
	start := time.UnixMilli(1772323200000)
	p, err := newClient(t, srv.URL, &recorder{}).AuditLogs(context.Background(), AuditQuery{Start: start, End: start.Add(time.Hour), Types: []string{"login", "remove_user"}, Page: 2, PageSize: 9999})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"startTime=1772323200000", "endTime=1772326800000", "eventTypes=login%2Cremove_user", "page=2", "pageSize=500"} {
		if !strings.Contains(query, want) {
			t.Errorf("query %q lacks %s", query, want)
		}
	}
	e := p.Events[0]
	if e.ID != "evt_1" || e.UserEmail != "Dana@Example.com" || e.Type != "remove_user" || e.Data.Email != "gone@example.com" ||
		!e.Timestamp.Equal(time.Date(2026, 3, 2, 8, 1, 44, 120e6, time.UTC)) || p.TotalPages != 1 || p.HasNextPage {
		t.Errorf("decoded %+v", p)
	}
}

func TestAuditLogsSendsTheUsersFilterInBatchesCursorTakes(t *testing.T) {
	var query string
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query().Get("users")
		io.WriteString(w, `{"events":[],"pagination":{}}`)
	})
	users := []string{"a@x.example", "B@x.example"}
	if _, err := newClient(t, srv.URL, &recorder{}).AuditLogs(context.Background(), AuditQuery{Start: time.Now().Add(-time.Hour), End: time.Now(), Users: users, PageSize: 500}); err != nil {
		t.Fatal(err)
	}
	if query != "a@x.example,B@x.example" {
		t.Errorf("users=%q, want the emails comma-separated", query)
	}

	short := make([]string, 1001)
	for i := range short {
		short[i] = fmt.Sprintf("u%d@x.example", i)
	}
	if b := AuditUserBatches(short); len(b) != 3 || len(b[0]) != 500 || len(b[2]) != 1 {
		t.Errorf("1,001 short addresses: batches of %v, want 500, 500, 1", batchSizes(b))
	}
	long := make([]string, 500)
	for i := range long {
		long[i] = fmt.Sprintf("%s%03d@%s.example", strings.Repeat("l", 60), i, strings.Repeat("d", 180))
	}
	b := AuditUserBatches(long)
	total := 0
	for _, batch := range b {
		if n := len(url.QueryEscape(strings.Join(batch, ","))); n > maxAuditUsersBytes {
			t.Errorf("a batch of long addresses sends %d bytes, want at most %d", n, maxAuditUsersBytes)
		}
		total += len(batch)
	}
	if total != len(long) || len(b) < 2 {
		t.Errorf("500 long addresses: batches of %v, want every address in more than one batch", batchSizes(b))
	}
}

func batchSizes(b [][]string) []int {
	var out []int
	for _, x := range b {
		out = append(out, len(x))
	}
	return out
}

func TestActivityRoutesMapRefusalsAndShapes(t *testing.T) {
	srv, n := fake(t, reply(403, `{"error":"Forbidden","message":"Enterprise access required"}`))
	c := newClient(t, srv.URL, &recorder{}).WithRetry(httpretry.Policy{Backoff: []time.Duration{}})
	err := c.ActiveDays(context.Background(), time.Now().Add(-time.Hour), time.Now(), func(UsageDay) error { return nil })
	requireCode(t, err, codes.PermissionDenied, "403")
	if n.Load() != 1 {
		t.Errorf("%d requests for a 403, want 1", n.Load())
	}

	srv, _ = fake(t, reply(200, `{"teamMemberSpend":null,"totalPages":1}`))
	_, err = newClient(t, srv.URL, &recorder{}).SpendByAmount(context.Background(), 1, 1000)
	requireCode(t, err, codes.Internal, "teamMemberSpend")

	srv, _ = fake(t, reply(200, `{"data":[{"email":"a@x.example","day":"2026-03-01","isActive":true},{"email":"b@x.example","day":"2026-03-01","isActive":false},{"day":"2026-03-02"}],"period":{}}`))
	var days []UsageDay
	err = newClient(t, srv.URL, &recorder{}).ActiveDays(context.Background(), time.Now().Add(-time.Hour), time.Now(),
		func(d UsageDay) error { days = append(days, d); return nil })
	if err != nil || len(days) != 2 || days[0].Email != "a@x.example" || days[1].Email != "" {
		t.Errorf("active days %+v, %v: want a's day and the email-less row, not b's inactive one", days, err)
	}
}

// ActiveDays hands a row on while the rest of the answer is still to come:
// the server sends the second half only once the first row was taken, so a
// client that read the body whole would never see it end.
func TestActiveDaysHandsRowsOnAsTheAnswerArrives(t *testing.T) {
	taken := make(chan struct{})
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":[{"email":"a@x.example","day":"2026-03-01","isActive":true},`)
		w.(http.Flusher).Flush()
		select {
		case <-taken:
		case <-time.After(5 * time.Second):
			return // the answer ends short: the client gets an error
		}
		io.WriteString(w, `{"email":"b@x.example","day":"2026-03-02","isActive":true}]}`)
	})
	var days []UsageDay
	err := newClient(t, srv.URL, &recorder{}).ActiveDays(context.Background(), time.Now().Add(-time.Hour), time.Now(), func(d UsageDay) error {
		if days = append(days, d); len(days) == 1 {
			close(taken)
		}
		return nil
	})
	if err != nil || len(days) != 2 || days[1].Email != "b@x.example" {
		t.Errorf("active days %+v, %v: want both rows, the first taken before the second was sent", days, err)
	}
}
