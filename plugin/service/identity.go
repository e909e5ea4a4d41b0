package service

import (
	"context"
	"slices"
	"strings"
	"unicode"

	"github.com/conductorone/baton-cursor/internal/scim"
)

// SCIM identity: a person is every SCIM user whose userName or any
// emails[].value equals the address ignoring case, checked here. Real SCIM
// servers compare userName case exactly (docs/cursor-api.md §4.7), although RFC
// 7643 says not to, so a `userName eq` search is trusted only once this
// server was seen to fold case; until then, and for a server that does not,
// the directory is listed and matched here.

// The verdict on the server's folding, kept per settings (so per process and
// configuration).
const (
	foldUnknown int32 = iota
	foldYes
	foldNo
)

// probeSample is how many users a probe reads to find a userName with letters.
const probeSample = 10

// scimUsersFor returns every SCIM user that holds email.
func (s *Server) scimUsersFor(ctx context.Context, set *settings, email string) ([]scim.User, error) {
	found, err := set.scim.FindByUserName(ctx, email)
	if err != nil {
		return nil, err
	}
	if s.serverFoldsCase(ctx, set, found) {
		return holding(found, email), nil
	}
	all, err := set.scim.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	return holding(all, email), nil
}

// serverFoldsCase reports whether the server's userName search ignores case.
// The first time, it searches for a userName known to exist (one of known,
// else of the directory's first page) spelt in the opposite case. An error
// or a directory with nothing to probe leaves the verdict open: false.
func (s *Server) serverFoldsCase(ctx context.Context, set *settings, known []scim.User) bool {
	switch set.scimFolds.Load() {
	case foldYes:
		return true
	case foldNo:
		return false
	}
	if len(known) == 0 {
		var err error
		if known, err = set.scim.FirstUsers(ctx, probeSample); err != nil {
			return false
		}
	}
	for _, u := range known {
		other := swapCase(u.UserName)
		if other == u.UserName {
			continue
		}
		got, err := set.scim.FindByUserName(ctx, other)
		if err != nil {
			return false
		}
		folds := slices.ContainsFunc(got, func(v scim.User) bool { return v.ID == u.ID })
		verdict := foldNo
		if folds {
			verdict = foldYes
		}
		set.scimFolds.Store(verdict)
		s.logger.Info("checked whether the SCIM endpoint's userName search ignores letter case", "ignores_case", folds)
		return folds
	}
	return false
}

// holding keeps the users whose userName or an email is email, ignoring case.
func holding(users []scim.User, email string) []scim.User {
	var out []scim.User
	for _, u := range users {
		if u.Holds(email) {
			out = append(out, u)
		}
	}
	return out
}

// swapCase turns upper-case letters lower and lower-case ones upper.
func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsUpper(r) {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, s)
}
