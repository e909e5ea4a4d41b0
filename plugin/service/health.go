package service

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// noteFetchLocked keeps a fetched snapshot as the current one, unless the
// plugin wrote to Cursor since the fetch began (current false): the snapshot
// may predate the write. It tracks whether Cursor accepts the key either way,
// for the sidecar's health.
func (s *Server) noteFetchLocked(snap *snapshot, err error, current bool) {
	switch code := status.Code(err); {
	case err == nil:
		if current {
			s.roster.current, s.roster.lastUsed = snap, s.now()
		}
		s.serving = true
		s.roster.lastActive = len(snap.active)
		for _, r := range snap.unknownRoles {
			if !s.seenUnknownRoles[r] {
				s.seenUnknownRoles[r] = true
				s.logger.Warn("Cursor returned a role this plugin does not know; it is synced as its own role", "role", r)
			}
		}
	case code == codes.Unauthenticated || code == codes.PermissionDenied:
		s.serving = false
	}
}

// Serving is true once a roster was fetched, and false again while Cursor
// rejects the key (the sidecar's health reports it).
func (s *Server) Serving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serving
}
