package service

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

const testKey = "crsr_service-test-key"

// newSimulated returns a configured Server over a simulated tenant on loopback.
func newSimulated(t *testing.T, cfg simulator.Config) (*Server, *simulator.Tenant) {
	t.Helper()
	cfg.APIKey = testKey
	tenant, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	s := New("test", hclog.NewNullLogger())
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: testKey, BaseUrl: srv.URL}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s, tenant
}

// listAll pages through ListMembers and fails on a repeated key or bad order.
func listAll(t *testing.T, s *Server, req *pluginv1.ListMembersRequest) []*pluginv1.Member {
	t.Helper()
	var all []*pluginv1.Member
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatal("ListMembers never ended")
		}
		resp, err := s.ListMembers(context.Background(), req)
		if err != nil {
			t.Fatalf("ListMembers: %v", err)
		}
		all = append(all, resp.GetMembers()...)
		if resp.GetNextPageToken() == "" {
			break
		}
		req = &pluginv1.ListMembersRequest{PageSize: req.GetPageSize(), Role: req.GetRole(),
			IncludeRemoved: req.GetIncludeRemoved(), PageToken: resp.GetNextPageToken()}
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].GetKey() >= all[i].GetKey() {
			t.Fatalf("keys out of order or repeated: %q then %q", all[i-1].GetKey(), all[i].GetKey())
		}
	}
	return all
}

func keys(ms []*pluginv1.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.GetKey()
	}
	return out
}

func TestListMembersPagesEveryMemberFromOneFetch(t *testing.T) {
	s, tenant := newSimulated(t, simulator.Config{Members: 203, Seed: 7, IDStyle: simulator.IDStyleMixed})
	got := listAll(t, s, &pluginv1.ListMembersRequest{PageSize: 7, IncludeRemoved: true})

	byKey := map[string]simulator.Member{}
	for _, m := range tenant.Members() {
		byKey[strings.ToLower(m.Email)] = m
	}
	if len(got) != len(byKey) {
		t.Fatalf("got %d members, the tenant has %d distinct emails", len(got), len(byKey))
	}
	for _, m := range got {
		want, ok := byKey[m.GetKey()]
		if !ok {
			t.Fatalf("member %q is not in the tenant", m.GetKey())
		}
		if m.GetEmail() != want.Email || m.GetName() != want.Name || m.GetRole() != want.Role ||
			m.GetRemoved() != want.IsRemoved || m.GetCursorId() != fmt.Sprint(want.ID) {
			t.Errorf("member %q = %+v, want %+v", m.GetKey(), m, want)
		}
	}
	// Configure, GetInfo, ListRoles and every page share one roster fetch.
	if _, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListRoles(context.Background(), &pluginv1.ListRolesRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := tenant.Requests("/teams/members"); n != 1 {
		t.Errorf("%d requests to /teams/members, want 1", n)
	}
}

func TestListMembersFilters(t *testing.T) {
	s, tenant := newSimulated(t, simulator.Config{Members: 500, Seed: 3})
	var active, owners, allOwners []string
	for _, m := range tenant.Members() {
		k := strings.ToLower(m.Email)
		if !m.IsRemoved {
			active = append(active, k)
			if m.Role == "owner" {
				owners = append(owners, k)
			}
		}
		if m.Role == "owner" {
			allOwners = append(allOwners, k)
		}
	}
	for _, l := range [][]string{active, owners, allOwners} {
		slices.Sort(l)
	}
	cases := []struct {
		name string
		req  *pluginv1.ListMembersRequest
		want []string
	}{
		{"active by default", &pluginv1.ListMembersRequest{PageSize: 50}, active},
		{"one role, active only", &pluginv1.ListMembersRequest{PageSize: 3, Role: "owner"}, owners},
		{"one role, removed too", &pluginv1.ListMembersRequest{PageSize: 3, Role: "owner", IncludeRemoved: true}, allOwners},
		{"a role nobody holds", &pluginv1.ListMembersRequest{Role: "no-such-role"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := keys(listAll(t, s, c.req)); !slices.Equal(got, c.want) {
				t.Errorf("got %d keys, want %d\n got %v\nwant %v", len(got), len(c.want), got, c.want)
			}
		})
	}
}

func TestListMembersRejectsBadInput(t *testing.T) {
	s, _ := newSimulated(t, simulator.Config{Members: 20, Seed: 1})
	for _, req := range []*pluginv1.ListMembersRequest{
		{PageToken: "garbage"},
		{PageToken: pageTokenPrefix + "!!!"},
		{PageToken: pageTokenPrefix},
		{PageSize: -1},
	} {
		_, err := s.ListMembers(context.Background(), req)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("ListMembers(%v) = %v, want InvalidArgument", req, err)
		}
	}
}

func TestListMembersClampsPageSize(t *testing.T) {
	s, _ := newSimulated(t, simulator.Config{Members: 10500, Seed: 1})
	resp, err := s.ListMembers(context.Background(), &pluginv1.ListMembersRequest{PageSize: 1 << 30, IncludeRemoved: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetMembers()) != maxPageSize || resp.GetNextPageToken() == "" {
		t.Errorf("page of %d with token %q, want %d and a next token", len(resp.GetMembers()), resp.GetNextPageToken(), maxPageSize)
	}
	resp, err = s.ListMembers(context.Background(), &pluginv1.ListMembersRequest{IncludeRemoved: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetMembers()) != defaultPageSize {
		t.Errorf("default page has %d members, want %d", len(resp.GetMembers()), defaultPageSize)
	}
}

// fakeLister serves a scripted sequence of rosters; a fake of our own
// interface, for the snapshot rules that need the roster to change.
type fakeLister struct {
	rosters [][]cursorapi.Member
	calls   int
}

func (f *fakeLister) ListMembers(context.Context) ([]cursorapi.Member, error) {
	r := f.rosters[min(f.calls, len(f.rosters)-1)]
	f.calls++
	return slices.Clone(r), nil
}

func (f *fakeLister) RemoveMember(context.Context, string) (cursorapi.RemoveResult, error) {
	return cursorapi.RemoveResult{}, errors.New("not scripted")
}

func newFake(t testing.TB, rosters ...[]cursorapi.Member) (*Server, *fakeLister, *time.Time) {
	t.Helper()
	f := &fakeLister{rosters: rosters}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s := New("test", hclog.NewNullLogger())
	s.now = func() time.Time { return now }
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return f, nil }
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: "k"}); err != nil {
		t.Fatal(err)
	}
	return s, f, &now
}

func member(email, role string, removed bool) cursorapi.Member {
	return cursorapi.Member{ID: "user_" + email, Email: email, Name: email, Role: role, IsRemoved: removed}
}

func TestSnapshotReuseAndExpiry(t *testing.T) {
	s, f, now := newFake(t, []cursorapi.Member{member("a@x.test", "owner", false)})
	ctx := context.Background()
	list := func() {
		t.Helper()
		if _, err := s.ListMembers(ctx, &pluginv1.ListMembersRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	list() // the first sync call: a snapshot on Configure's roster read
	// Calls a minute apart keep the snapshot alive, up to its maximum age.
	for elapsed := time.Duration(0); elapsed+time.Minute < rosterMaxAge; elapsed += time.Minute {
		*now = now.Add(time.Minute)
		list()
	}
	if f.calls != 1 {
		t.Fatalf("%d fetches while calls kept coming, want 1", f.calls)
	}
	*now = now.Add(time.Minute)
	list()
	if f.calls != 2 {
		t.Fatalf("%d fetches after the maximum age, want 2", f.calls)
	}
	*now = now.Add(rosterIdleTTL)
	list()
	if f.calls != 3 {
		t.Fatalf("%d fetches after an idle gap, want 3", f.calls)
	}
}

func TestDuplicateEmailsAreOneAccount(t *testing.T) {
	s, _, _ := newFake(t, []cursorapi.Member{
		member("Pat@X.test", "member", true),
		member("pat@x.test", "owner", false), // the active row wins
		member("lee@x.test", "member", false),
		member("LEE@x.test", "free-owner", false), // both active: Cursor's first row wins
		{ID: "user_noemail", Name: "No Email", Role: "member"},
		member("sam@x.test", "", false),
	})
	got := listAll(t, s, &pluginv1.ListMembersRequest{IncludeRemoved: true})
	want := map[string]string{"lee@x.test": "member", "pat@x.test": "owner", "sam@x.test": unspecifiedRole}
	if len(got) != len(want) {
		t.Fatalf("got %v, want one member per email: %v", keys(got), want)
	}
	for _, m := range got {
		if want[m.GetKey()] != m.GetRole() || m.GetRemoved() {
			t.Errorf("%s: role %q removed %v, want role %q active", m.GetKey(), m.GetRole(), m.GetRemoved(), want[m.GetKey()])
		}
	}
	info, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	team := info.GetTeam()
	if team.GetDuplicateRows() != 2 || team.GetRowsWithoutEmail() != 1 || team.GetActiveMembers() != 3 || team.GetRemovedMembers() != 0 {
		t.Errorf("team facts = %v", team)
	}
	var summaries []string
	for _, d := range info.GetDiagnostics() {
		summaries = append(summaries, d.GetSummary())
	}
	all := strings.Join(summaries, "\n")
	for _, want := range []string{"2 roster rows repeat another row's email", "1 roster rows have no email", unspecifiedRole} {
		if !strings.Contains(all, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, all)
		}
	}
}

func TestListRolesKnownFirstThenEveryUnknown(t *testing.T) {
	s, _, _ := newFake(t, []cursorapi.Member{
		member("a@x.test", "owner", false),
		member("b@x.test", "member", false),
		member("c@x.test", "member", false),
		member("d@x.test", "zz-auditor", false),
		member("e@x.test", "billing-admin", true), // only a removed member holds it: still listed
	})
	resp, err := s.ListRoles(context.Background(), &pluginv1.ListRolesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range resp.GetRoles() {
		got = append(got, fmt.Sprintf("%s/%s/%v/%d", r.GetId(), r.GetDisplayName(), r.GetKnown(), r.GetActiveMembers()))
	}
	want := []string{"owner/Owner/true/1", "member/Member/true/2", "free-owner/Free Owner/true/0",
		"billing-admin/billing-admin/false/0", "zz-auditor/zz-auditor/false/1"}
	if !slices.Equal(got, want) {
		t.Errorf("roles = %v\nwant %v", got, want)
	}
}

func TestCallsBeforeConfigure(t *testing.T) {
	s := New("test", hclog.NewNullLogger())
	if _, err := s.ListMembers(context.Background(), &pluginv1.ListMembersRequest{}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("ListMembers before Configure = %v, want FailedPrecondition", err)
	}
	if _, err := s.ListRoles(context.Background(), &pluginv1.ListRolesRequest{}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("ListRoles before Configure = %v, want FailedPrecondition", err)
	}
	info, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetPluginVersion() != "test" || info.GetProtocolVersion() != 1 || info.GetTeam() != nil ||
		len(info.GetDiagnostics()) != 1 || info.GetDiagnostics()[0].GetSeverity() != pluginv1.Diagnostic_SEVERITY_ERROR {
		t.Errorf("GetInfo before Configure = %v", info)
	}
}

func TestConfigureReportsCursorsAnswer(t *testing.T) {
	tenant, err := simulator.New(simulator.Config{Members: 20, Seed: 1, APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	cases := []struct {
		key  string
		code codes.Code
		text string
	}{
		{"crsr_wrong", codes.Unauthenticated, "Cursor rejected the API key"},
		{"   ", codes.InvalidArgument, "cursor-api-key"},
	}
	for _, c := range cases {
		s := New("test", hclog.NewNullLogger())
		_, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: c.key, BaseUrl: srv.URL})
		if status.Code(err) != c.code || !strings.Contains(err.Error(), c.text) {
			t.Errorf("Configure(%q) = %v, want %v naming %q", c.key, err, c.code, c.text)
		}
	}
	if n := tenant.Requests("/teams/members"); n != 1 {
		t.Errorf("%d requests, want 1 (a blank key must fail before any request)", n)
	}

	s, _ := newSimulated(t, simulator.Config{Members: 20, Seed: 1})
	info, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var warned bool
	for _, d := range info.GetDiagnostics() {
		warned = warned || (d.GetSeverity() == pluginv1.Diagnostic_SEVERITY_WARNING && strings.Contains(d.GetSummary(), "billing-admin"))
	}
	if !warned {
		t.Errorf("no warning names the unknown role billing-admin: %v", info.GetDiagnostics())
	}
}

// Configure proves the key with one roster-only read: no SCIM listing and no
// activity, which a create or delete never needs. The sync's first call builds
// the snapshot on that read. With defer_key_check Configure asks Cursor
// nothing, and GetInfo versions_only neither.
func TestConfigureReadsTheRosterOnly(t *testing.T) {
	for _, deferred := range []bool{false, true} {
		t.Run(fmt.Sprintf("defer_key_check=%v", deferred), func(t *testing.T) {
			tenant, err := simulator.New(simulator.Config{Members: 20, Seed: 2, APIKey: testKey, SCIMToken: "scim-token"})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(tenant)
			t.Cleanup(srv.Close)
			s := New("test", hclog.NewNullLogger())
			ctx := context.Background()
			if _, err := s.Configure(ctx, &pluginv1.ConfigureRequest{ApiKey: testKey, BaseUrl: srv.URL,
				ScimUrl: srv.URL + "/scim/v2", ScimToken: "scim-token", DeferKeyCheck: deferred}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetInfo(ctx, &pluginv1.GetInfoRequest{VersionsOnly: true}); err != nil {
				t.Fatal(err)
			}
			wantRoster := 1
			if deferred {
				wantRoster = 0
			}
			enrichment := func() int {
				return tenant.Requests("/teams/audit-logs") + tenant.Requests("/teams/daily-usage-data") + tenant.Requests("/teams/spend")
			}
			if r, l, e := tenant.Requests("/teams/members"), tenant.Requests("GET /scim/v2/Users"), enrichment(); r != wantRoster || l != 0 || e != 0 {
				t.Errorf("Configure made %d roster reads, %d SCIM listings, %d enrichment requests; want %d, 0, 0", r, l, e, wantRoster)
			}
			info, err := s.GetInfo(ctx, &pluginv1.GetInfoRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if info.GetTeam().GetScimManaged() == 0 || !strings.Contains(info.GetDiagnostics()[0].GetSummary(), "managed by SCIM") {
				t.Errorf("GetInfo after Configure: team %v, diagnostics %v; want the SCIM facts", info.GetTeam(), info.GetDiagnostics())
			}
			if r, l, e := tenant.Requests("/teams/members"), tenant.Requests("GET /scim/v2/Users"), enrichment(); r != 1 || l != 1 || e == 0 {
				t.Errorf("after the first sync call: %d roster reads, %d SCIM listings, %d enrichment requests; want 1 (shared with Configure), 1, some", r, l, e)
			}
		})
	}
}
