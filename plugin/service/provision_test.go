package service

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/scim"
)

// fakeDirectory is an in-memory SCIM directory (a fake of our own interface)
// that records what was sent.
type fakeDirectory struct {
	users    []scim.User
	creates  []scim.User
	deletes  []string
	conflict bool // Create answers 409 after adding the user (a retried POST that had succeeded)
}

func (d *fakeDirectory) ListUsers(context.Context) ([]scim.User, error) {
	return slices.Clone(d.users), nil
}

func (d *fakeDirectory) FirstUsers(_ context.Context, n int) ([]scim.User, error) {
	return slices.Clone(d.users[:min(n, len(d.users))]), nil
}

func (d *fakeDirectory) FindByUserName(_ context.Context, name string) ([]scim.User, error) {
	var out []scim.User
	for _, u := range d.users {
		if strings.EqualFold(u.UserName, name) {
			out = append(out, u)
		}
	}
	return out, nil
}

func (d *fakeDirectory) Create(_ context.Context, u scim.User) (scim.User, error) {
	d.creates = append(d.creates, u)
	u.ID = "scim-" + u.UserName
	d.users = append(d.users, u)
	if d.conflict {
		return scim.User{}, &scim.Error{Status: 409, ScimType: "uniqueness"}
	}
	return u, nil
}

func (d *fakeDirectory) Delete(_ context.Context, id string) error {
	d.deletes = append(d.deletes, id)
	d.users = slices.DeleteFunc(d.users, func(u scim.User) bool { return u.ID == id })
	return nil
}

// fakeAdmin serves one roster and records removals; a refusal can be scripted.
type fakeAdmin struct {
	roster  []cursorapi.Member
	removed []string
	refuse  string
	fetches int
	// goneOnRefusal: someone else removed the member just before Cursor refused.
	goneOnRefusal bool
}

func (a *fakeAdmin) ListMembers(context.Context) ([]cursorapi.Member, error) {
	a.fetches++
	return slices.Clone(a.roster), nil
}

func (a *fakeAdmin) RemoveMember(_ context.Context, email string) (cursorapi.RemoveResult, error) {
	if a.refuse != "" {
		if a.goneOnRefusal {
			a.markRemoved(email)
		}
		return cursorapi.RemoveResult{}, &cursorapi.APIError{Status: 400, Reason: a.refuse}
	}
	a.removed = append(a.removed, email)
	a.markRemoved(email)
	return cursorapi.RemoveResult{UserID: "user_x", HasBillingCycleUsage: true}, nil
}

func (a *fakeAdmin) markRemoved(email string) {
	for i := range a.roster {
		if strings.EqualFold(a.roster[i].Email, email) {
			a.roster[i].IsRemoved = true
		}
	}
}

func newProvisioning(t *testing.T, admin *fakeAdmin, dir directory, removeUnmanaged bool) *Server {
	t.Helper()
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return admin, nil }
	s.newSCIM = func(scim.Config) (directory, error) { return dir, nil }
	req := &pluginv1.ConfigureRequest{ApiKey: "k", RemoveUnmanaged: removeUnmanaged}
	if dir != nil {
		req.ScimUrl, req.ScimToken = "https://scim.example/scim/v2", "t"
	}
	if _, err := s.Configure(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProvisionCreatesOnceThenReportsExisting(t *testing.T) {
	dir := &fakeDirectory{}
	s := newProvisioning(t, &fakeAdmin{roster: []cursorapi.Member{member("o@x.test", "owner", false)}}, dir, false)
	req := &pluginv1.ProvisionRequest{Email: " Dana@Example.test ", GivenName: "Dana", FamilyName: "Levi"}
	first, err := s.Provision(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Provision(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.creates) != 1 {
		t.Fatalf("%d SCIM creates, want 1", len(dir.creates))
	}
	c := dir.creates[0]
	if c.UserName != "Dana@Example.test" || c.GivenName != "Dana" || c.FamilyName != "Levi" || !c.Active ||
		len(c.Emails) != 1 || c.Emails[0].Value != "Dana@Example.test" || !c.Emails[0].Primary {
		t.Errorf("created %+v", c)
	}
	if first.GetOutcome() != pluginv1.ProvisionResponse_OUTCOME_CREATED || !strings.Contains(first.GetMessage(), "first login") ||
		first.GetMember().GetKey() != "dana@example.test" || !first.GetMember().GetPendingFirstLogin() {
		t.Errorf("first = %v", first)
	}
	if second.GetOutcome() != pluginv1.ProvisionResponse_OUTCOME_ALREADY_EXISTS || second.GetMember().GetKey() != "dana@example.test" {
		t.Errorf("second = %v", second)
	}
}

func TestProvisionTreatsConflictAsExisting(t *testing.T) {
	dir := &fakeDirectory{conflict: true}
	s := newProvisioning(t, &fakeAdmin{}, dir, false)
	resp, err := s.Provision(context.Background(), &pluginv1.ProvisionRequest{Email: "a@x.test"})
	if err != nil || resp.GetOutcome() != pluginv1.ProvisionResponse_OUTCOME_ALREADY_EXISTS {
		t.Errorf("Provision after a 409 = %v, %v; want ALREADY_EXISTS", resp, err)
	}
}

func TestDeprovisionPaths(t *testing.T) {
	roster := func() []cursorapi.Member {
		return []cursorapi.Member{
			member("scim@x.test", "member", false),
			member("dash@x.test", "member", false),
			member("gone@x.test", "member", true),
			member("owner@x.test", "owner", false),
		}
	}
	ctx := context.Background()

	t.Run("SCIM user deleted once, then absent", func(t *testing.T) {
		dir := &fakeDirectory{users: []scim.User{{ID: "u1", UserName: "scim@x.test", Active: true}}}
		admin := &fakeAdmin{roster: roster()}
		s := newProvisioning(t, admin, dir, false)
		resp, err := s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "SCIM@x.test"})
		if err != nil || resp.GetPath() != pluginv1.DeprovisionResponse_PATH_SCIM_DELETE || !slices.Equal(dir.deletes, []string{"u1"}) {
			t.Fatalf("first = %v, %v, deletes %v", resp, err, dir.deletes)
		}
		admin.roster[0].IsRemoved = true // what Cursor does after a SCIM delete
		resp, err = s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "scim@x.test"})
		if err != nil || resp.GetPath() != pluginv1.DeprovisionResponse_PATH_ALREADY_ABSENT || len(dir.deletes) != 1 {
			t.Errorf("second = %v, %v, deletes %v; want ALREADY_ABSENT and no second delete", resp, err, dir.deletes)
		}
	})

	t.Run("two SCIM users with one email: nothing deleted", func(t *testing.T) {
		dir := &fakeDirectory{users: []scim.User{{ID: "u1", UserName: "dup@x.test"}, {ID: "u2", UserName: "DUP@x.test"}}}
		s := newProvisioning(t, &fakeAdmin{roster: roster()}, dir, true)
		_, err := s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "dup@x.test"})
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "2 SCIM users") || len(dir.deletes) != 0 {
			t.Errorf("got %v with deletes %v; want FailedPrecondition naming both and no delete", err, dir.deletes)
		}
	})

	t.Run("dashboard member without the opt-in is refused", func(t *testing.T) {
		admin := &fakeAdmin{roster: roster()}
		s := newProvisioning(t, admin, &fakeDirectory{}, false)
		_, err := s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "dash@x.test"})
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "Cursor dashboard") ||
			!strings.Contains(err.Error(), "cursor-remove-unmanaged") || len(admin.removed) != 0 {
			t.Errorf("got %v, removed %v", err, admin.removed)
		}
	})

	t.Run("dashboard member with the opt-in is removed through the Admin API", func(t *testing.T) {
		admin := &fakeAdmin{roster: roster()}
		s := newProvisioning(t, admin, &fakeDirectory{}, true)
		resp, err := s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "Dash@x.test"})
		if err != nil || resp.GetPath() != pluginv1.DeprovisionResponse_PATH_ADMIN_API_REMOVE ||
			!slices.Equal(admin.removed, []string{"dash@x.test"}) || !strings.Contains(resp.GetMessage(), "billable") {
			t.Fatalf("got %v, %v, removed %v", resp, err, admin.removed)
		}
		resp, err = s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "dash@x.test"})
		if err != nil || resp.GetPath() != pluginv1.DeprovisionResponse_PATH_ALREADY_ABSENT || len(admin.removed) != 1 {
			t.Errorf("again: %v, %v, removed %v", resp, err, admin.removed)
		}
	})

	t.Run("Cursor's refusal reaches the person verbatim", func(t *testing.T) {
		const rule = "At least one admin (owner or free-owner) must remain on the team after removal"
		s := newProvisioning(t, &fakeAdmin{roster: roster(), refuse: rule}, &fakeDirectory{}, true)
		_, err := s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "owner@x.test"})
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), rule) {
			t.Errorf("got %v", err)
		}
	})

	// Whether a refused removal means "already gone" is read from a fresh
	// roster, never from Cursor's wording.
	t.Run("refused, but gone on a fresh roster: already absent, whatever the wording", func(t *testing.T) {
		admin := &fakeAdmin{roster: roster(), refuse: "User could not be found on this team", goneOnRefusal: true}
		s := newProvisioning(t, admin, &fakeDirectory{}, true)
		before := admin.fetches
		resp, err := s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "dash@x.test"})
		if err != nil || resp.GetPath() != pluginv1.DeprovisionResponse_PATH_ALREADY_ABSENT {
			t.Errorf("got %v, %v; want ALREADY_ABSENT", resp, err)
		}
		if n := admin.fetches - before; n != 1 {
			t.Errorf("%d roster fetches, want 1 (after the refusal; before it, Configure's read serves)", n)
		}
	})
	t.Run("refused with 'not a member' while still a member: refused", func(t *testing.T) {
		admin := &fakeAdmin{roster: roster(), refuse: "dash@x.test is not a member of a team you administer"}
		s := newProvisioning(t, admin, &fakeDirectory{}, true)
		_, err := s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "dash@x.test"})
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "not a member of a team you administer") {
			t.Errorf("got %v; want FailedPrecondition quoting Cursor", err)
		}
	})

	// A roster read younger than teamReadMaxAge serves every decision; an
	// older one is read again, once.
	t.Run("nowhere and removed are already absent, decided on a roster read at most teamReadMaxAge old", func(t *testing.T) {
		admin := &fakeAdmin{roster: roster()}
		s := newProvisioning(t, admin, &fakeDirectory{}, true)
		now := time.Now()
		s.now = func() time.Time { return now }
		before := admin.fetches
		for i, email := range []string{"nobody@x.test", "gone@x.test", "nobody@x.test", "gone@x.test"} {
			if i == 2 {
				now = now.Add(teamReadMaxAge)
			}
			resp, err := s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: email})
			if err != nil || resp.GetPath() != pluginv1.DeprovisionResponse_PATH_ALREADY_ABSENT {
				t.Errorf("%s: %v, %v", email, resp, err)
			}
		}
		if admin.fetches-before != 1 || len(admin.removed) != 0 {
			t.Errorf("%d roster fetches and removals %v; want Configure's read for the first two, one more after teamReadMaxAge, nothing removed",
				admin.fetches-before, admin.removed)
		}
	})
}

func TestProvisioningNeedsSCIMAndAnEmail(t *testing.T) {
	ctx := context.Background()
	s := newProvisioning(t, &fakeAdmin{}, nil, false)
	_, err1 := s.Provision(ctx, &pluginv1.ProvisionRequest{Email: "a@x.test"})
	_, err2 := s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "a@x.test"})
	for _, err := range []error{err1, err2} {
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "cursor-scim-url and cursor-scim-token") {
			t.Errorf("without SCIM: %v; want FailedPrecondition naming both settings", err)
		}
	}
	s = newProvisioning(t, &fakeAdmin{}, &fakeDirectory{}, false)
	for _, bad := range []string{"", "not-an-email", "Dana <dana@x.test>", "a b@x.test"} {
		if _, err := s.Provision(ctx, &pluginv1.ProvisionRequest{Email: bad}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("Provision(%q) = %v, want InvalidArgument", bad, err)
		}
	}
}

func TestConfigureChecksSCIMSettingsTogether(t *testing.T) {
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return &fakeAdmin{}, nil }
	for _, req := range []*pluginv1.ConfigureRequest{
		{ApiKey: "k", ScimUrl: "https://scim.example"},
		{ApiKey: "k", ScimToken: "t"},
		{ApiKey: "k", RemoveUnmanaged: true},
	} {
		if _, err := s.Configure(context.Background(), req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("Configure(url %q, token set %v, remove %v) = %v, want InvalidArgument",
				req.GetScimUrl(), req.GetScimToken() != "", req.GetRemoveUnmanaged(), err)
		}
	}
}

func TestSyncMarksSCIMManagedAndPendingMembers(t *testing.T) {
	dir := &fakeDirectory{users: []scim.User{
		{ID: "1", UserName: "Managed@x.test", Active: true},
		{ID: "2", UserName: "new@x.test", GivenName: "New", FamilyName: "Person", Active: true},
		{ID: "3", UserName: "off@x.test", Active: false},
	}}
	admin := &fakeAdmin{roster: []cursorapi.Member{member("managed@x.test", "member", false), member("dash@x.test", "owner", false)}}
	s := newProvisioning(t, admin, dir, false)
	all := listAll(t, s, &pluginv1.ListMembersRequest{IncludeRemoved: true})
	got := map[string]string{}
	for _, m := range all {
		got[m.GetKey()] = strings.Join([]string{m.GetRole(), boolWord(m.GetScimManaged(), "scim"), boolWord(m.GetPendingFirstLogin(), "pending"), boolWord(m.GetRemoved(), "removed")}, "/")
	}
	want := map[string]string{
		"managed@x.test": "member/scim//",
		"dash@x.test":    "owner///",
		"new@x.test":     "/scim/pending/",
		"off@x.test":     "/scim//removed",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	grants := listAll(t, s, &pluginv1.ListMembersRequest{Role: "member"})
	if len(grants) != 1 || grants[0].GetKey() != "managed@x.test" {
		t.Errorf("members holding the member role: %v; a pending SCIM user holds none", keys(grants))
	}
	info, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if tm := info.GetTeam(); tm.GetScimManaged() != 1 || tm.GetPendingFirstLogin() != 1 || tm.GetActiveMembers() != 2 || !info.GetFeatures().GetScim() {
		t.Errorf("team %v features %v", tm, info.GetFeatures())
	}
	if admin.fetches != 1 {
		t.Errorf("%d roster fetches, want 1", admin.fetches)
	}
}

func boolWord(b bool, w string) string {
	if b {
		return w
	}
	return ""
}

// searchBlind finds and lists nobody, as a SCIM server that hides a user
// who still conflicts on create.
type searchBlind struct{ fakeDirectory }

func (d *searchBlind) FindByUserName(context.Context, string) ([]scim.User, error) { return nil, nil }
func (d *searchBlind) ListUsers(context.Context) ([]scim.User, error)              { return nil, nil }
func (d *searchBlind) FirstUsers(context.Context, int) ([]scim.User, error)        { return nil, nil }

func TestProvisionConflictThatSearchCannotFindIsNotASuccess(t *testing.T) {
	dir := &searchBlind{fakeDirectory{conflict: true}}
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return &fakeAdmin{}, nil }
	s.newSCIM = func(scim.Config) (directory, error) { return dir, nil }
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: "k", ScimUrl: "https://scim.example", ScimToken: "t"}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Provision(context.Background(), &pluginv1.ProvisionRequest{Email: "a@x.test"})
	if status.Code(err) != codes.AlreadyExists || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Provision = %v, %v; want AlreadyExists, never a made-up success", resp, err)
	}
}
