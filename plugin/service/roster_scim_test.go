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

// configureWith configures a Server over admin and dir; Configure fetches the roster.
func configureWith(admin adminAPI, dir directory) error {
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return admin, nil }
	s.newSCIM = func(scim.Config) (directory, error) { return dir, nil }
	_, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: "k", ScimUrl: "https://scim.example/scim/v2", ScimToken: "t"})
	return err
}

func TestRosterFailureStopsTheSCIMListing(t *testing.T) {
	rosterErr := errors.New("roster unavailable")
	dir := &slowDirectory{}
	if err := configureWith(&failingAdmin{err: rosterErr}, dir); !errors.Is(err, rosterErr) {
		t.Errorf("Configure error = %v, want the roster's", err)
	}
	if !dir.cancelled {
		t.Error("the SCIM listing was not cancelled when the roster fetch failed")
	}
}

func TestSCIMListingFailureFailsTheRoster(t *testing.T) {
	scimErr := errors.New("SCIM unavailable")
	admin := &fakeAdmin{roster: []cursorapi.Member{member("o@x.test", "owner", false)}}
	if err := configureWith(admin, &slowDirectory{err: scimErr}); !errors.Is(err, scimErr) || admin.fetches != 1 {
		t.Errorf("Configure error = %v after %d roster fetches, want the SCIM listing's after 1", err, admin.fetches)
	}
}
