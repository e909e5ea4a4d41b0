package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

const testKey = "crsr_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func newServer(t testing.TB, cfg Config) (*Tenant, *httptest.Server) {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	tenant, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	return tenant, srv
}

type response struct {
	status int
	header http.Header
	body   []byte
	err    error // error reading the body
}

// get requests path with Basic auth for key ("" = no Authorization header).
func get(t testing.TB, srv *httptest.Server, path, key string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	return do(t, srv, req)
}

func do(t testing.TB, srv *httptest.Server, req *http.Request) response {
	t.Helper()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: body, err: err}
}

func expect(t testing.TB, r response, status int, body string) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("reading body: %v", r.err)
	}
	if r.status != status || string(r.body) != body {
		t.Fatalf("got %d %s\nwant %d %s", r.status, r.body, status, body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
}

type wireMember struct {
	ID        any          `json:"id"`
	Name      string       `json:"name"`
	Email     string       `json:"email"`
	Role      string       `json:"role"`
	IsRemoved bool         `json:"isRemoved"`
	UserID    *json.Number `json:"user_id"`
}

func decodeMembers(t testing.TB, body []byte) []wireMember {
	t.Helper()
	var env struct {
		TeamMembers []wireMember `json:"teamMembers"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("decoding members: %v", err)
	}
	if env.TeamMembers == nil {
		t.Fatalf("no teamMembers array in %.200s", body)
	}
	return env.TeamMembers
}

const (
	want401 = `{"statusCode":401,"error":"Unauthorized","message":"Invalid API key"}`
	want403 = `{"error":"Forbidden","message":"Enterprise access required"}`
	want404 = `{"error":"Not Found","message":"Resource not found"}`
	want429 = `{"error":"Too Many Requests","message":"Rate limit exceeded. Please try again later."}`
	want500 = `{"error":"Internal Server Error","message":"An unexpected error occurred"}`
)

func TestNewValidatesConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative members", Config{Members: -1, APIKey: "k"}, "Members must be between 0 and 1000000"},
		{"too many members", Config{Members: MaxMembers + 1, APIKey: "k"}, "Members must be between 0 and 1000000"},
		{"empty key", Config{Members: 1}, "APIKey must not be empty"},
		{"unknown id style", Config{Members: 1, APIKey: "k", IDStyle: "uuid"}, `IDStyle must be "string", "number", "mixed" or "public-id", got "uuid"`},
		{"server errors", Config{APIKey: "k", Faults: Faults{ServerErrors: -2}}, "ServerErrors must be >= -1"},
		{"rate limited", Config{APIKey: "k", Faults: Faults{RateLimited: -1}}, "RateLimited must be >= 0"},
		{"two bodies", Config{APIKey: "k", Faults: Faults{Truncate: true, InvalidJSON: true}}, "mutually exclusive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New error = %v, want it to contain %q", err, c.want)
			}
		})
	}
	for _, n := range []int{0, 1, MaxMembers} {
		if n == MaxMembers && testing.Short() {
			continue
		}
		if _, err := New(Config{Members: n, APIKey: "k"}); err != nil {
			t.Errorf("New(Members=%d): %v", n, err)
		}
	}
}

func TestDeterministicFromSeed(t *testing.T) {
	for _, style := range []IDStyle{IDStyleString, IDStyleNumber, IDStyleMixed} {
		t.Run(string(style), func(t *testing.T) {
			a, srvA := newServer(t, Config{Members: 500, Seed: 42, IDStyle: style})
			b, srvB := newServer(t, Config{Members: 500, Seed: 42, IDStyle: style})
			_, srvC := newServer(t, Config{Members: 500, Seed: 43, IDStyle: style})
			bodyA := get(t, srvA, pathMembers, testKey)
			bodyB := get(t, srvB, pathMembers, testKey)
			bodyC := get(t, srvC, pathMembers, testKey)
			if bodyA.status != 200 || !bytes.Equal(bodyA.body, bodyB.body) {
				t.Fatalf("same seed gave different bodies (status %d)", bodyA.status)
			}
			if !reflect.DeepEqual(a.Members(), b.Members()) {
				t.Fatal("same seed gave different Members()")
			}
			if bytes.Equal(bodyA.body, bodyC.body) {
				t.Fatal("different seeds gave identical bodies")
			}
		})
	}
}

func TestMembersResponse(t *testing.T) {
	tenant, srv := newServer(t, Config{Members: 300, Seed: 7})
	r := get(t, srv, pathMembers, testKey)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q", r.status, r.header.Get("Content-Type"))
	}
	if cl := r.header.Get("Content-Length"); cl == "" || cl != itoa(len(r.body)) {
		t.Fatalf("Content-Length %q, body %d bytes", cl, len(r.body))
	}
	// Field order as in the doc's example; member 0 also carries user_id.
	first := regexp.MustCompile(`^\{"teamMembers":\[\{"id":"user_[A-Za-z0-9]{26}","name":"[^"]+","email":"[^"]+","role":"owner","isRemoved":false,"user_id":[0-9]+\},\{"id":`)
	if !first.Match(r.body) {
		t.Fatalf("unexpected body start: %.200s", r.body)
	}
	got := decodeMembers(t, r.body)
	want := tenant.Members()
	if len(got) != len(want) || len(want) != 300 {
		t.Fatalf("got %d rows, Members() has %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.ID != w.ID || g.Name != w.Name || g.Email != w.Email || g.Role != w.Role || g.IsRemoved != w.IsRemoved {
			t.Fatalf("row %d: wire %+v, Members() %+v", i, g, w)
		}
		if (g.UserID != nil) != (w.UserID != 0) || (g.UserID != nil && g.UserID.String() != itoa(int(w.UserID))) {
			t.Fatalf("row %d: user_id %v, Members().UserID %d", i, g.UserID, w.UserID)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestAuth(t *testing.T) {
	_, srv := newServer(t, Config{Members: 3})
	req := func(header string) response {
		r, _ := http.NewRequest(http.MethodGet, srv.URL+pathMembers, nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		return do(t, srv, r)
	}
	basic := func(user, pass string) string {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(user, pass)
		return r.Header.Get("Authorization")
	}
	if r := req(basic(testKey, "")); r.status != 200 {
		t.Errorf("Basic with the key: %d %s", r.status, r.body)
	}
	if r := req("Bearer " + testKey); r.status != 200 {
		t.Errorf("Bearer with the key: %d %s", r.status, r.body)
	}
	for name, h := range map[string]string{
		"missing header":      "",
		"wrong key":           basic("crsr_wrong", ""),
		"key as password":     basic("", testKey),
		"non-empty password":  basic(testKey, "x"),
		"wrong bearer":        "Bearer crsr_wrong",
		"key prefix":          basic(testKey[:10], ""),
		"unknown scheme":      "Token " + testKey,
		"bearer without key":  "Bearer ",
		"bare key, no scheme": testKey,
	} {
		t.Run(name, func(t *testing.T) { expect(t, req(h), 401, want401) })
	}
}

func TestBusinessPlanForbidden(t *testing.T) {
	_, srv := newServer(t, Config{Members: 3, BusinessPlan: true})
	expect(t, get(t, srv, pathMembers, testKey), 403, want403)
	// A bad key is still 401: the plan check needs a valid key.
	expect(t, get(t, srv, pathMembers, "crsr_wrong"), 401, want401)
}

func TestIDStyles(t *testing.T) {
	for _, style := range []IDStyle{"", IDStyleString, IDStyleNumber, IDStyleMixed} {
		t.Run(string(style), func(t *testing.T) {
			_, srv := newServer(t, Config{Members: 2000, Seed: 5, IDStyle: style})
			rows := decodeMembers(t, get(t, srv, pathMembers, testKey).body)
			seen := map[any]bool{}
			for i, m := range rows {
				wantString := style == "" || style == IDStyleString || style == IDStyleMixed && i%2 == 0
				switch id := m.ID.(type) {
				case string:
					if !wantString || !stringID.MatchString(id) {
						t.Fatalf("row %d: id %q", i, id)
					}
				case json.Number:
					n, err := id.Int64()
					if wantString || err != nil || n <= 0 {
						t.Fatalf("row %d: id %v", i, id)
					}
				default:
					t.Fatalf("row %d: id %#v has type %T", i, m.ID, m.ID)
				}
				if seen[m.ID] {
					t.Fatalf("row %d: duplicate id %v", i, m.ID)
				}
				seen[m.ID] = true
				if (m.UserID != nil) != (wantString && i%100 == 0) {
					t.Fatalf("row %d: user_id %v", i, m.UserID)
				}
			}
		})
	}
}

func TestVariationsPresent(t *testing.T) {
	for _, style := range []IDStyle{IDStyleString, IDStyleNumber} {
		t.Run(string(style), func(t *testing.T) {
			_, srv := newServer(t, Config{Members: 20, Seed: 99, IDStyle: style})
			rows := decodeMembers(t, get(t, srv, pathMembers, testKey).body)
			if len(rows) != 20 {
				t.Fatalf("%d rows", len(rows))
			}
			if rows[0].Role != "owner" || rows[0].IsRemoved {
				t.Errorf("member 0 is %q removed=%v, want an active owner", rows[0].Role, rows[0].IsRemoved)
			}
			roles := map[string]int{}
			emails := map[string]bool{}
			byName := map[string][]string{}
			var upper, emptyName, unicode, removed bool
			for _, m := range rows {
				roles[m.Role]++
				lower := strings.ToLower(m.Email)
				if emails[lower] {
					t.Errorf("duplicate email %q", m.Email)
				}
				emails[lower] = true
				if !regexp.MustCompile(`^[^@\s]+@[a-z0-9.-]+\.(example|test)$`).MatchString(lower) {
					t.Errorf("email %q is not on an .example/.test domain", m.Email)
				}
				upper = upper || m.Email != lower
				emptyName = emptyName || m.Name == ""
				unicode = unicode || m.Name == `Zoë "Z" Ødegård 🚀`
				removed = removed || m.IsRemoved
				byName[m.Name] = append(byName[m.Name], m.Email)
			}
			for _, role := range []string{"owner", "member", "free-owner", "billing-admin"} {
				if roles[role] == 0 {
					t.Errorf("no member with role %q", role)
				}
			}
			sameName := false
			for name, es := range byName {
				sameName = sameName || name != "" && len(es) >= 2 && es[0] != es[1]
			}
			if !upper || !emptyName || !unicode || !removed || !sameName {
				t.Errorf("upper-case email %v, empty name %v, unicode name %v, removed %v, same name twice %v",
					upper, emptyName, unicode, removed, sameName)
			}
		})
	}
}

func TestOmitRemoved(t *testing.T) {
	tenant, srv := newServer(t, Config{Members: 400, Seed: 3, OmitRemoved: true})
	_, keep := newServer(t, Config{Members: 400, Seed: 3})
	active := 0
	for _, m := range tenant.Members() {
		if !m.IsRemoved {
			active++
		}
	}
	rows := decodeMembers(t, get(t, srv, pathMembers, testKey).body)
	if len(rows) != active || active == 400 {
		t.Fatalf("%d rows, %d active of 400", len(rows), active)
	}
	for _, m := range rows {
		if m.IsRemoved {
			t.Fatalf("removed member %q in the response", m.Email)
		}
	}
	if all := decodeMembers(t, get(t, keep, pathMembers, testKey).body); len(all) != 400 {
		t.Fatalf("without OmitRemoved: %d rows, want 400", len(all))
	}
}

func TestRequestCounting(t *testing.T) {
	tenant, srv := newServer(t, Config{Members: 3, Faults: Faults{RateLimited: 1}})
	get(t, srv, pathMembers, testKey) // 429
	get(t, srv, pathMembers, "")      // 401
	get(t, srv, pathMembers, testKey) // 200
	get(t, srv, "/teams/nope", testKey)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+pathMembers, nil)
	do(t, srv, req) // 405
	if n := tenant.Requests(pathMembers); n != 4 {
		t.Errorf("Requests(%s) = %d, want 4", pathMembers, n)
	}
	if n := tenant.Requests("/teams/nope"); n != 1 {
		t.Errorf("Requests(/teams/nope) = %d, want 1", n)
	}
	r := get(t, srv, pathRequests, "")
	var counts map[string]int
	if r.status != 200 || json.Unmarshal(r.body, &counts) != nil {
		t.Fatalf("%s: %d %s", pathRequests, r.status, r.body)
	}
	if want := map[string]int{pathMembers: 4, "/teams/nope": 1}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("%s = %v, want %v", pathRequests, counts, want)
	}
	if n := tenant.Requests(pathRequests); n != 0 {
		t.Errorf("the counts endpoint counted itself: %d", n)
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	_, srv := newServer(t, Config{Members: 3})
	expect(t, get(t, srv, "/teams/membersx", testKey), 404, want404)
	expect(t, get(t, srv, "/", ""), 404, want404)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+pathMembers, strings.NewReader("{}"))
	req.SetBasicAuth(testKey, "")
	r := do(t, srv, req)
	expect(t, r, 405, `{"error":"Method Not Allowed","message":"Method not allowed"}`)
	if r.header.Get("Allow") != http.MethodGet {
		t.Fatalf("Allow = %q", r.header.Get("Allow"))
	}
}

func TestSetFaults(t *testing.T) {
	tenant, srv := newServer(t, Config{Members: 3, Faults: Faults{RateLimited: 1}})
	for round := 0; round < 2; round++ {
		expect(t, get(t, srv, pathMembers, testKey), 429, want429)
		if r := get(t, srv, pathMembers, testKey); r.status != 200 {
			t.Fatalf("round %d: %d", round, r.status)
		}
		tenant.SetFaults(Faults{RateLimited: 1}) // restarts the counter
	}
	tenant.SetFaults(Faults{ServerErrors: -1})
	expect(t, get(t, srv, pathMembers, testKey), 500, want500)
	tenant.SetFaults(Faults{})
	if r := get(t, srv, pathMembers, testKey); r.status != 200 {
		t.Fatalf("after clearing faults: %d", r.status)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("SetFaults accepted ServerErrors -5")
		}
	}()
	tenant.SetFaults(Faults{ServerErrors: -5})
}

func TestUpdateInvalidatesCachedBody(t *testing.T) {
	tenant, srv := newServer(t, Config{Members: 30})
	before := decodeMembers(t, get(t, srv, pathMembers, testKey).body)
	if before[1].IsRemoved {
		t.Fatal("member 1 starts removed")
	}
	tenant.update(func(ms []Member) []Member {
		ms[1].IsRemoved = true
		return append(ms, Member{ID: "user_added", Email: "new@acme.example", Name: "New\tPerson", Role: "member"})
	})
	after := decodeMembers(t, get(t, srv, pathMembers, testKey).body)
	if len(after) != 31 || !after[1].IsRemoved || after[30].Name != "New\tPerson" {
		t.Fatalf("the response did not change after update: %d rows, member 1 removed=%v", len(after), after[1].IsRemoved)
	}
}

func TestJSONStringEscaping(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s/`, "tab\tnl\nnul\x00del\x7f", "Zoë 🚀", "bad\xffutf8", "line\u2028sep"} {
		enc := appendString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", s, enc, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if got != want {
			t.Fatalf("%q round-tripped to %q", s, got)
		}
	}
}

// discardWriter is a ResponseWriter that keeps nothing, to count handler allocations.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func TestServeAllocations(t *testing.T) {
	tenant, err := New(Config{Members: 10_000, APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, pathMembers, nil)
	req.SetBasicAuth(testKey, "")
	w := &discardWriter{h: http.Header{}}
	allocs := testing.AllocsPerRun(100, func() { tenant.ServeHTTP(w, req) })
	t.Logf("%v allocations per request", allocs)
	if allocs > 8 {
		t.Fatalf("%v allocations per request; the cached body should be written as is", allocs)
	}
}

func TestMillionMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	start := time.Now()
	tenant, err := New(Config{Members: MaxMembers, Seed: 1, APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated and encoded 1,000,000 members in %v, body %d bytes", time.Since(start), len(tenant.body))
	ms := tenant.Members()
	ids := make(map[string]struct{}, len(ms))
	emails := make(map[string]struct{}, len(ms))
	roles := map[string]int{}
	removed := 0
	for _, m := range ms {
		ids[m.ID.(string)] = struct{}{}
		emails[strings.ToLower(m.Email)] = struct{}{}
		roles[m.Role]++
		if m.IsRemoved {
			removed++
		}
	}
	if len(ids) != MaxMembers || len(emails) != MaxMembers {
		t.Fatalf("%d unique ids, %d unique emails of %d", len(ids), len(emails), MaxMembers)
	}
	near := func(got int, pct float64) bool {
		w := pct / 100 * MaxMembers
		return float64(got) > 0.8*w && float64(got) < 1.2*w
	}
	if !near(removed, 5) || !near(roles["owner"], 3) || !near(roles["free-owner"], 1) || !near(roles["billing-admin"], 0.2) {
		t.Fatalf("removed %d, roles %v", removed, roles)
	}
}

func BenchmarkServeMembers100k(b *testing.B) {
	_, srv := newServer(b, Config{Members: 100_000, Seed: 1})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+pathMembers, nil)
	req.SetBasicAuth(testKey, "")
	client := srv.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%d %v", resp.StatusCode, err)
		}
		b.SetBytes(n)
	}
}

func BenchmarkNew(b *testing.B) {
	for _, n := range []int{100_000, MaxMembers} {
		b.Run(itoa(n), func(b *testing.B) {
			var size int
			for b.Loop() {
				t, err := New(Config{Members: n, Seed: 1, APIKey: testKey})
				if err != nil {
					b.Fatal(err)
				}
				size = len(t.body)
			}
			b.ReportMetric(float64(size), "body-bytes")
		})
	}
}

func TestDelayedRequestsOnlySlowTheFirstOnes(t *testing.T) {
	tenant, err := New(Config{Members: 20, Seed: 1, APIKey: "k", Faults: Faults{Delay: 300 * time.Millisecond, DelayedRequests: 1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	took := func() time.Duration {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/teams/members", nil)
		req.SetBasicAuth("k", "")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return time.Since(start)
	}
	if d := took(); d < 300*time.Millisecond {
		t.Errorf("first request took %v, want the 300ms delay", d)
	}
	if d := took(); d >= 300*time.Millisecond {
		t.Errorf("second request took %v, want no delay", d)
	}
}

func TestRequestCountsClient(t *testing.T) {
	tenant, err := New(Config{Members: 20, Seed: 1, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	for range 2 {
		resp, err := http.Get(srv.URL + "/teams/members")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	counts, err := RequestCounts(srv.URL)
	if err != nil || counts["/teams/members"] != 2 {
		t.Errorf("RequestCounts = %v, %v; want 2 for /teams/members", counts, err)
	}
	if _, err := RequestCounts(srv.URL + "/nowhere"); err == nil {
		t.Error("RequestCounts of a URL that is not a tenant succeeded")
	}
}
