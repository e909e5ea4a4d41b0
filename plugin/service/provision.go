package service

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/scim"
)

// Provision creates the person's Cursor account as a SCIM user, unless one
// with that userName exists already (a retried or repeated request creates
// nothing).
func (s *Server) Provision(ctx context.Context, req *pluginv1.ProvisionRequest) (*pluginv1.ProvisionResponse, error) {
	set, err := s.scimSettings("create accounts")
	if err != nil {
		return nil, err
	}
	email, err := checkEmail(req.GetEmail())
	if err != nil {
		return nil, err
	}
	existing := func(found []scim.User) *pluginv1.ProvisionResponse {
		return &pluginv1.ProvisionResponse{
			Outcome: pluginv1.ProvisionResponse_OUTCOME_ALREADY_EXISTS,
			Member:  s.accountFor(found[0]),
			Message: fmt.Sprintf("%s already has a Cursor account managed by SCIM; nothing was created", email),
		}
	}
	found, err := s.scimUsersFor(ctx, set, email)
	if err != nil {
		return nil, err
	}
	if len(found) > 0 {
		return existing(found), nil
	}
	u, err := set.scim.Create(ctx, scim.User{
		UserName:   email,
		GivenName:  strings.TrimSpace(req.GetGivenName()),
		FamilyName: strings.TrimSpace(req.GetFamilyName()),
		Emails:     []scim.Email{{Value: email, Primary: true, Type: "work"}},
		Active:     true,
	})
	if scim.IsConflict(err) { // created by a concurrent or earlier retried request
		found, ferr := s.scimUsersFor(ctx, set, email)
		if ferr == nil && len(found) > 0 {
			return existing(found), nil
		}
		return nil, status.Errorf(codes.AlreadyExists,
			"%s already exists in Cursor's SCIM directory (HTTP 409), yet a search by userName does not find it; look for it in your identity provider", email)
	}
	if err != nil {
		return nil, err
	}
	s.forgetRoster()
	s.logger.Info("created a SCIM user", "userName", email, "scim_id", u.ID)
	return &pluginv1.ProvisionResponse{
		Outcome: pluginv1.ProvisionResponse_OUTCOME_CREATED,
		Member:  s.accountFor(u),
		Message: fmt.Sprintf("created the Cursor account for %s through SCIM; it joins the team at the person's first login", email),
	}, nil
}

// Deprovision removes the person's Cursor account: the SCIM user when there is
// exactly one, else (when opted in) the dashboard-added member through the
// Admin API. It never acts on an ambiguous match, and an absent person is a
// success.
func (s *Server) Deprovision(ctx context.Context, req *pluginv1.DeprovisionRequest) (*pluginv1.DeprovisionResponse, error) {
	set, err := s.scimSettings("remove accounts")
	if err != nil {
		return nil, err
	}
	email, err := checkEmail(req.GetEmail())
	if err != nil {
		return nil, err
	}
	found, err := s.scimUsersFor(ctx, set, email)
	if err != nil {
		return nil, err
	}
	switch {
	case len(found) > 1:
		ids := make([]string, len(found))
		for i, u := range found {
			ids[i] = u.ID
		}
		return nil, status.Errorf(codes.FailedPrecondition,
			"refusing to remove %s: %d SCIM users have that address as userName or email, ignoring case (ids %s); remove the duplicate in your identity provider, then try again",
			email, len(found), strings.Join(ids, ", "))
	case len(found) == 1:
		if err := set.scim.Delete(ctx, found[0].ID); err != nil && !scim.IsNotFound(err) {
			return nil, err
		}
		s.forgetRoster()
		s.noteGone(set, email)
		s.logger.Info("deleted a SCIM user", "userName", email, "scim_id", found[0].ID)
		return &pluginv1.DeprovisionResponse{
			Path:    pluginv1.DeprovisionResponse_PATH_SCIM_DELETE,
			Message: fmt.Sprintf("deleted the SCIM user %s; Cursor shows the member as removed", email),
		}, nil
	}

	// Not a SCIM user. Decide on a roster-only read (membership.go) at most
	// teamReadMaxAge old, with this process's removals applied.
	team, err := s.teamFor(ctx, set, false)
	if err != nil {
		return nil, err
	}
	spelt, ok := team.activeMember(email)
	if !ok {
		return alreadyAbsent(email), nil
	}
	if !set.removeUnmanaged {
		return nil, status.Errorf(codes.FailedPrecondition,
			"%s was added in the Cursor dashboard, not through SCIM: remove them in the Cursor dashboard (Members), "+
				"or turn on cursor-remove-unmanaged to let baton-cursor remove such members through the Admin API", email)
	}
	res, err := set.admin.RemoveMember(ctx, spelt)
	if reason, refused := cursorapi.RefusedReason(err); refused {
		// Cursor's wording is not a contract: whether the person is gone is
		// read from a fresh roster (someone may have removed them meanwhile).
		if team, ferr := s.teamFor(ctx, set, true); ferr == nil {
			if _, still := team.activeMember(email); !still {
				return alreadyAbsent(email), nil
			}
		}
		return nil, status.Errorf(codes.FailedPrecondition, "Cursor refused to remove %s: %s", email, reason)
	}
	if err != nil {
		return nil, err
	}
	s.forgetRoster()
	s.noteGone(set, email)
	msg := fmt.Sprintf("removed %s from the Cursor team through the Admin API", email)
	if res.HasBillingCycleUsage {
		msg += "; they used Cursor this billing cycle, so the seat stays billable until the cycle ends"
	}
	s.logger.Info("removed a team member through the Admin API", "email", email, "cursor_id", res.UserID)
	return &pluginv1.DeprovisionResponse{Path: pluginv1.DeprovisionResponse_PATH_ADMIN_API_REMOVE, Message: msg}, nil
}

func alreadyAbsent(email string) *pluginv1.DeprovisionResponse {
	return &pluginv1.DeprovisionResponse{
		Path:    pluginv1.DeprovisionResponse_PATH_ALREADY_ABSENT,
		Message: fmt.Sprintf("%s is neither a SCIM user nor an active member of the Cursor team: nothing to remove", email),
	}
}

// scimSettings returns the settings, or FailedPrecondition naming what is
// missing for the action.
func (s *Server) scimSettings(action string) (*settings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.settings == nil:
		return nil, status.Error(codes.FailedPrecondition, "baton-cursor-plugin: not configured: the host must call Configure first")
	case s.settings.scim == nil:
		return nil, status.Errorf(codes.FailedPrecondition,
			"baton-cursor can %s only through Cursor's SCIM endpoint: set cursor-scim-url and cursor-scim-token (from the Cursor dashboard's SCIM setup)", action)
	}
	return s.settings, nil
}

// forgetRoster is called after every write to Cursor: it drops the current
// snapshot and detaches a fetch in flight (begun before the write, it may land
// after it), so the next read is fresh. Pinned syncs keep theirs.
func (s *Server) forgetRoster() {
	s.mu.Lock()
	s.roster.current = nil
	s.writeCount++
	s.fetching = nil // its waiters still get it; fetchLocked starts anew for later callers
	s.mu.Unlock()
}

// accountFor describes a SCIM user as a member, with team facts when the
// current snapshot (never fetched for this) knows the person.
func (s *Server) accountFor(u scim.User) *pluginv1.Member {
	key := strings.ToLower(strings.TrimSpace(u.UserName))
	s.mu.Lock()
	snap := s.roster.current
	s.mu.Unlock()
	if snap != nil {
		if m := snap.find(key); m != nil && !m.GetPendingFirstLogin() {
			return m
		}
	}
	return scimAccount(u)
}

// scimAccount describes a SCIM user who is no team member (yet): an account
// without a role, pending its first login while active.
func scimAccount(u scim.User) *pluginv1.Member {
	return &pluginv1.Member{
		Key:               strings.ToLower(strings.TrimSpace(u.UserName)),
		Email:             strings.TrimSpace(u.UserName),
		Name:              strings.TrimSpace(u.GivenName + " " + u.FamilyName),
		ScimManaged:       true,
		PendingFirstLogin: u.Active,
		Removed:           !u.Active, // deactivated before it ever joined
	}
}

// checkEmail accepts a bare address (no display name) and trims it.
func checkEmail(raw string) (string, error) {
	email := strings.TrimSpace(raw)
	addr, err := mail.ParseAddress(email)
	if email == "" || err != nil || addr.Address != email {
		return "", status.Errorf(codes.InvalidArgument, "%q is not an email address: give the person's address, like dana@example.com", raw)
	}
	return email, nil
}
