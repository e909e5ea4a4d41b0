package service

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/scim"
)

// exactDirectory is a SCIM server whose userName search compares case
// exactly (docs/cursor-api.md §4.7) and that counts its searches and listings.
type exactDirectory struct {
	fakeDirectory
	searches, listings int
}

func (d *exactDirectory) FindByUserName(_ context.Context, name string) ([]scim.User, error) {
	d.searches++
	var out []scim.User
	for _, u := range d.users {
		if u.UserName == name {
			out = append(out, u)
		}
	}
	return out, nil
}

func (d *exactDirectory) ListUsers(ctx context.Context) ([]scim.User, error) {
	d.listings++
	return d.fakeDirectory.ListUsers(ctx)
}

// A server whose search does not fold case is found out by one probe, and
// from then on every lookup lists the directory: userName and emails match
// in any case, so no second user is created and no duplicate is deleted.
func TestIdentityIgnoresCaseWhateverTheServerDoes(t *testing.T) {
	ctx := context.Background()
	dir := &exactDirectory{fakeDirectory: fakeDirectory{users: []scim.User{
		{ID: "u1", UserName: "Pending.Case@x.test", Active: true},
		{ID: "u2", UserName: "Twin@x.test", Active: true},
		{ID: "u3", UserName: "TWIN@x.test", Active: true},
		{ID: "u4", UserName: "jdoe", Emails: []scim.Email{{Value: "Jane.Doe@x.test"}}, Active: true},
	}}}
	s := newProvisioning(t, &fakeAdmin{roster: []cursorapi.Member{member("o@x.test", "owner", false)}}, dir, false)

	resp, err := s.Provision(ctx, &pluginv1.ProvisionRequest{Email: "pending.case@x.test"})
	if err != nil || resp.GetOutcome() != pluginv1.ProvisionResponse_OUTCOME_ALREADY_EXISTS || len(dir.creates) != 0 {
		t.Fatalf("create of pending.case@ while Pending.Case@ exists: %v, %v, %d POSTs; want ALREADY_EXISTS and none", resp, err, len(dir.creates))
	}
	if got := dir.fakeDirectory.users; len(got) != 4 {
		t.Fatalf("directory has %d users", len(got))
	}
	_, err = s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "twin@x.test"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "u2, u3") || len(dir.deletes) != 0 {
		t.Errorf("delete of twin@ held as Twin@ and TWIN@: %v, deletes %v; want FailedPrecondition naming u2, u3 and no delete", err, dir.deletes)
	}
	resp2, err := s.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: "jane.doe@x.test"})
	if err != nil || resp2.GetPath() != pluginv1.DeprovisionResponse_PATH_SCIM_DELETE || len(dir.deletes) != 1 || dir.deletes[0] != "u4" {
		t.Errorf("delete of an address held only in emails[]: %v, %v, deletes %v; want u4 deleted", resp2, err, dir.deletes)
	}
	// One probe for the whole process: a search per lookup plus one; a
	// listing per lookup (Configure lists nothing).
	if dir.searches != 4 || dir.listings != 3 {
		t.Errorf("%d searches and %d listings for 3 lookups; want 4 (one probe) and 3", dir.searches, dir.listings)
	}
}

// A server that folds case is trusted after one probe: a lookup is then one search.
func TestIdentityTrustsAFoldingServerAfterOneProbe(t *testing.T) {
	ctx := context.Background()
	dir := &countingDirectory{fakeDirectory: fakeDirectory{users: []scim.User{{ID: "u1", UserName: "Dana@x.test", Active: true}}}}
	s := newProvisioning(t, &fakeAdmin{roster: []cursorapi.Member{member("o@x.test", "owner", false)}}, dir, false)
	for range 3 {
		if resp, err := s.Provision(ctx, &pluginv1.ProvisionRequest{Email: "dana@x.test"}); err != nil || resp.GetOutcome() != pluginv1.ProvisionResponse_OUTCOME_ALREADY_EXISTS {
			t.Fatalf("create of dana@ while Dana@ exists: %v, %v", resp, err)
		}
	}
	// Lookups never list, and neither does Configure.
	if dir.searches != 4 || dir.listings != 0 {
		t.Errorf("%d searches, %d listings for 3 lookups; want 4 (one probe) and none", dir.searches, dir.listings)
	}
}

type countingDirectory struct {
	fakeDirectory
	searches, listings int
}

func (d *countingDirectory) FindByUserName(ctx context.Context, name string) ([]scim.User, error) {
	d.searches++
	return d.fakeDirectory.FindByUserName(ctx, name)
}

func (d *countingDirectory) ListUsers(ctx context.Context) ([]scim.User, error) {
	d.listings++
	return d.fakeDirectory.ListUsers(ctx)
}

// Two SCIM users for one email are SCIM's duplicates: the sync's warning
// says so, and does not blame the roster.
func TestSCIMDuplicatesAreNamedAsSCIMs(t *testing.T) {
	dir := &fakeDirectory{users: []scim.User{{ID: "u1", UserName: "dup@x.test", Active: true}, {ID: "u2", UserName: "DUP@x.test", Active: true}}}
	s := newProvisioning(t, &fakeAdmin{roster: []cursorapi.Member{member("o@x.test", "owner", false)}}, dir, false)
	info, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	for _, d := range info.GetDiagnostics() {
		if d.GetSeverity() == pluginv1.Diagnostic_SEVERITY_WARNING {
			warnings = append(warnings, d.GetSummary())
		}
	}
	joined := strings.Join(warnings, " | ")
	if !strings.Contains(joined, "1 SCIM users repeat another SCIM user's userName") || strings.Contains(joined, "roster rows") {
		t.Errorf("warnings %q; want SCIM's duplicate named, and no roster blamed", joined)
	}
	if n := info.GetTeam().GetPendingFirstLogin(); n != 1 {
		t.Errorf("%d accounts pending first login, want 1 (one per email)", n)
	}
}
