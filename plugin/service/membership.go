package service

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/cursorapi"
)

// Provisioning asks one thing of the roster: is this person an active team
// member? That needs GET /teams/members alone (no SCIM listing, no activity),
// and C1 sends tasks in bursts after a review, under Cursor's 20 requests a
// minute. So the tasks of a burst share one roster-only read for
// teamReadMaxAge, with the removals this process made since applied to it;
// a decision Cursor's answer puts in doubt reads it again, once.
const teamReadMaxAge = 30 * time.Second

// teamRows is one roster-only read. It is never changed: a removal makes a
// new one with a larger gone.
type teamRows struct {
	set    *settings
	at     time.Time
	rows   []cursorapi.Member // as read; nil once gone is not empty (then not what Cursor said)
	active *activeIndex
	gone   map[string]bool // lower-cased emails this process removed since the read
}

// activeIndex is a read's active rows' emails as Cursor spells them, by
// lower-cased email, built when provisioning first asks: a sync never does,
// and at 100,000 members the map is 8 MB beside the snapshot being built.
type activeIndex struct {
	rows  []cursorapi.Member
	once  sync.Once
	byKey map[string]string
}

func (a *activeIndex) lookup(key string) (string, bool) {
	a.once.Do(func() {
		a.byKey = make(map[string]string, len(a.rows))
		for _, r := range a.rows {
			if email := strings.TrimSpace(r.Email); !r.IsRemoved && email != "" {
				a.byKey[strings.ToLower(email)] = email
			}
		}
	})
	spelt, ok := a.byKey[key]
	return spelt, ok
}

// activeMember returns email as Cursor spells it when email is an active
// team member in t.
func (t *teamRows) activeMember(email string) (string, bool) {
	key := strings.ToLower(strings.TrimSpace(email))
	spelt, ok := t.active.lookup(key)
	return spelt, ok && !t.gone[key]
}

// teamFor returns a roster-only read for provisioning: the held one if it is
// younger than teamReadMaxAge and fresh is false, else a new one.
func (s *Server) teamFor(ctx context.Context, set *settings, fresh bool) (*teamRows, error) {
	s.mu.Lock()
	t := s.team
	s.mu.Unlock()
	if !fresh && t != nil && t.set == set && s.now().Sub(t.at) < teamReadMaxAge {
		return t, nil
	}
	return s.readTeam(ctx, set)
}

// readTeam reads GET /teams/members once for every concurrent caller, on
// the first caller's context (a roster fetch's own, which ends when its last
// waiter leaves); a caller that gives up returns at once.
func (s *Server) readTeam(ctx context.Context, set *settings) (*teamRows, error) {
	// A read begun before a write this process made (forgetRoster) may land
	// after it: later callers get a read of their own, and it is not kept.
	s.mu.Lock()
	writes := s.writeCount
	s.mu.Unlock()
	ch := s.teamRead.DoChan(fmt.Sprintf("%p/%d", set, writes), func() (any, error) {
		at := s.now()
		rows, err := set.admin.ListMembers(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.noteReadLocked(set, err)
		if err != nil {
			return nil, err
		}
		t := &teamRows{set: set, at: at, rows: rows, active: &activeIndex{rows: rows}}
		if s.settings == set && s.writeCount == writes {
			s.team = t
		}
		return t, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*teamRows), nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// noteReadLocked tracks whether Cursor accepts the key, for the sidecar's health.
func (s *Server) noteReadLocked(set *settings, err error) {
	if s.settings != set {
		return
	}
	switch code := status.Code(err); {
	case err == nil:
		s.serving = true
	case code == codes.Unauthenticated || code == codes.PermissionDenied:
		s.serving = false
	}
}

// noteGone records that this process removed email from the team (a SCIM
// delete or remove-member), so later decisions of the burst see it.
func (s *Server) noteGone(set *settings, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.team
	if t == nil || t.set != set {
		return
	}
	gone := maps.Clone(t.gone)
	if gone == nil {
		gone = map[string]bool{}
	}
	gone[strings.ToLower(strings.TrimSpace(email))] = true
	s.team = &teamRows{set: set, at: t.at, active: t.active, gone: gone}
}

// rowsForSnapshot is GET /teams/members for a roster snapshot: the
// roster-only read held, when it is younger than teamReadMaxAge and nothing
// was removed since (so a sync right after Configure reads the roster once),
// else a new read. It returns when the rows were read.
func (s *Server) rowsForSnapshot(ctx context.Context, set *settings) ([]cursorapi.Member, time.Time, error) {
	s.mu.Lock()
	t := s.team
	s.mu.Unlock()
	if t == nil || t.set != set || t.rows == nil || s.now().Sub(t.at) >= teamReadMaxAge {
		var err error
		if t, err = s.readTeam(ctx, set); err != nil {
			return nil, time.Time{}, err
		}
	}
	return t.rows, t.at, nil
}
