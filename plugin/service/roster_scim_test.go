package service

import (
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/go-hclog"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/scim"
)

// The roster and the SCIM directory are fetched side by side; either
// failing fails the roster, and a roster failure stops the SCIM listing.

// failingAdmin's roster fetch fails with err.
type failingAdmin struct {
	fakeAdmin
	err error
}

func (a *failingAdmin) ListMembers(context.Context) ([]cursorapi.Member, error) { return nil, a.err }

// slowDirectory lists nothing until its context ends, or fails with err at once.
type slowDirectory struct {
	fakeDirectory
	err       error
	cancelled bool
}

func (d *slowDirectory) ListUsers(ctx context.Context) ([]scim.User, error) {
	if d.err != nil {
		return nil, d.err
	}
	<-ctx.Done()
	d.cancelled = true
	return nil, ctx.Err()
}

// firstSyncCall configures a Server over admin and dir without a request
// (defer_key_check) and answers the sync's first call, which fetches the roster.
func firstSyncCall(admin adminAPI, dir directory) error {
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return admin, nil }
	s.newSCIM = func(scim.Config) (directory, error) { return dir, nil }
	ctx := context.Background()
	if _, err := s.Configure(ctx, &pluginv1.ConfigureRequest{ApiKey: "k", ScimUrl: "https://scim.example/scim/v2", ScimToken: "t", DeferKeyCheck: true}); err != nil {
		return err
	}
	_, err := s.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	return err
}

func TestRosterFailureStopsTheSCIMListing(t *testing.T) {
	rosterErr := errors.New("roster unavailable")
	dir := &slowDirectory{}
	if err := firstSyncCall(&failingAdmin{err: rosterErr}, dir); !errors.Is(err, rosterErr) {
		t.Errorf("GetInfo error = %v, want the roster's", err)
	}
	if !dir.cancelled {
		t.Error("the SCIM listing was not cancelled when the roster fetch failed")
	}
}

func TestSCIMListingFailureFailsTheRoster(t *testing.T) {
	scimErr := errors.New("SCIM unavailable")
	admin := &fakeAdmin{roster: []cursorapi.Member{member("o@x.test", "owner", false)}}
	if err := firstSyncCall(admin, &slowDirectory{err: scimErr}); !errors.Is(err, scimErr) || admin.fetches != 1 {
		t.Errorf("GetInfo error = %v after %d roster fetches, want the SCIM listing's after 1", err, admin.fetches)
	}
}
