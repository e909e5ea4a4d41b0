package service

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Cursor's GET /teams/members returns the whole team in one response and is
// limited to 20 requests a minute, so a sync fetches it once and pages from the
// copy. A snapshot is reused while calls keep coming (idle TTL) but never for
// longer than maxAge, so the next sync in a long-lived process sees fresh data.
//
// A sync that names itself (sync_id) is pinned to the snapshot its first call
// got, whatever its age, so its users and grants never mix two rosters. A pin
// lives while its sync keeps calling (pinIdleTTL between calls), and only a few
// are kept, least recently used dropped first: each may hold a whole roster.
const (
	rosterIdleTTL = 2 * time.Minute
	rosterMaxAge  = 15 * time.Minute
	pinIdleTTL    = 5 * time.Minute
	maxPins       = 4
)

type rosterCache struct {
	current  *snapshot // what a call without a pin starts from
	lastUsed time.Time
	pins     map[string]*pin // by sync id
	// lastActive is the active members of the last roster read under these
	// settings (0: none yet): enrichment's guess of the team's size.
	lastActive int
}

type pin struct {
	snap     *snapshot
	lastUsed time.Time
}

// rosterFor returns the snapshot for a read call: the sync's pinned one, else
// the current one if fresh enough, else a new fetch (shared with concurrent
// callers). syncID "" pins nothing.
func (s *Server) rosterFor(ctx context.Context, syncID string) (*snapshot, error) {
	s.mu.Lock()
	if s.settings == nil {
		s.mu.Unlock()
		return nil, status.Error(codes.FailedPrecondition, "baton-cursor-plugin: not configured: the host must call Configure first")
	}
	now := s.now()
	c := &s.roster
	if p := c.pins[syncID]; syncID != "" && p != nil && now.Sub(p.lastUsed) < pinIdleTTL {
		p.lastUsed = now
		s.mu.Unlock()
		return p.snap, nil
	}
	if c.current != nil && now.Sub(c.lastUsed) < rosterIdleTTL && now.Sub(c.current.team.GetFetchedAt().AsTime()) < rosterMaxAge {
		c.lastUsed = now
		snap := s.pinLocked(syncID, c.current)
		s.mu.Unlock()
		return snap, nil
	}
	f := s.fetchLocked(ctx)
	s.mu.Unlock()

	snap, err := s.await(ctx, f)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.set != s.settings { // reconfigured meanwhile: pin nothing of the old settings
		return snap, nil
	}
	return s.pinLocked(syncID, snap), nil // a concurrent call of the same sync may have pinned first
}

// heldLocked returns the snapshot with this id if the plugin still holds it.
func (s *Server) heldLocked(id string) *snapshot {
	if c := s.roster.current; c != nil && c.id == id {
		return c
	}
	for _, p := range s.roster.pins {
		if p.snap.id == id {
			return p.snap
		}
	}
	return nil
}

// pinLocked returns the snapshot syncID is pinned to, pinning snap if it is
// not pinned yet ("" pins nothing). It drops pins idle too long and, beyond
// maxPins, the least recently used.
func (s *Server) pinLocked(syncID string, snap *snapshot) *snapshot {
	now := s.now()
	c := &s.roster
	for id, p := range c.pins {
		if now.Sub(p.lastUsed) >= pinIdleTTL {
			delete(c.pins, id)
		}
	}
	if syncID == "" {
		return snap
	}
	if p := c.pins[syncID]; p != nil {
		p.lastUsed = now
		return p.snap
	}
	if c.pins == nil {
		c.pins = map[string]*pin{}
	}
	for len(c.pins) >= maxPins {
		oldest := ""
		for id, p := range c.pins {
			if oldest == "" || p.lastUsed.Before(c.pins[oldest].lastUsed) {
				oldest = id
			}
		}
		delete(c.pins, oldest)
	}
	c.pins[syncID] = &pin{snap: snap, lastUsed: now}
	s.logger.Debug("pinned a sync to a roster snapshot", "sync_id", syncID, "snapshot", snap.id)
	return snap
}
