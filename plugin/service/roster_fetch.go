package service

import (
	"context"

	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/scim"
)

// rosterFetch is one GET /teams/members (and SCIM listing) that concurrent
// callers share. It runs on its own context, cancelled when the last caller
// waiting for it gives up, so no caller waits behind another's retries longer
// than it wants to and nobody holds s.mu while Cursor answers.
// (singleflight shares a result too, but cannot cancel the shared fetch when
// its last caller leaves, nor keep one begun before a write from being
// joined: hence this small struct.)
type rosterFetch struct {
	set        *settings
	writeCount uint64        // Server.writeCount when it began: one begun before a write never becomes current
	done       chan struct{} // closed when snap and err are set
	snap       *snapshot
	err        error
	waiters    int // guarded by Server.mu
	cancel     context.CancelFunc
}

// fetchLocked joins the fetch in flight for the current settings or starts one.
// forgetRoster detaches a fetch begun before a write, so nobody joins it later.
func (s *Server) fetchLocked(ctx context.Context) *rosterFetch {
	if f := s.fetching; f != nil && f.set == s.settings && f.writeCount == s.writeCount {
		f.waiters++
		return f
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &rosterFetch{set: s.settings, writeCount: s.writeCount, done: make(chan struct{}), waiters: 1, cancel: cancel}
	s.fetching = f
	lastActive := s.roster.lastActive
	go func() {
		snap, err := s.fetchRoster(fctx, f.set, lastActive)
		cancel()
		s.mu.Lock()
		f.snap, f.err = snap, err
		if s.fetching == f {
			s.fetching = nil
		}
		if s.settings == f.set {
			s.noteFetchLocked(snap, err, f.writeCount == s.writeCount)
		}
		s.mu.Unlock()
		close(f.done)
	}()
	return f
}

// await waits for f, or until ctx ends; the last caller to leave cancels it.
func (s *Server) await(ctx context.Context, f *rosterFetch) (*snapshot, error) {
	select {
	case <-f.done:
		return f.snap, f.err
	case <-ctx.Done():
		s.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			if s.fetching == f {
				s.fetching = nil
			}
		}
		s.mu.Unlock()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// fetchRoster asks Cursor for the team (and the SCIM directory, when
// configured) and builds a snapshot; lastActive is the last roster's active
// members (0: none read yet). It holds no lock.
func (s *Server) fetchRoster(ctx context.Context, set *settings, lastActive int) (*snapshot, error) {
	start := s.now()
	// The SCIM directory is listed, and activity read, while the roster
	// downloads: all are mostly waiting on Cursor.
	pass := s.startEnrich(ctx, set, lastActive)
	defer pass.stop()
	var (
		users             []scim.User
		scimErr           error
		scimDone          = make(chan struct{})
		scimCtx, stopSCIM = context.WithCancel(ctx)
	)
	defer stopSCIM()
	if dir := set.scim; dir != nil {
		go func() {
			defer close(scimDone)
			users, scimErr = dir.ListUsers(scimCtx)
		}()
	} else {
		close(scimDone)
	}
	rows, readAt, err := s.rowsForSnapshot(ctx, set)
	if err != nil {
		stopSCIM()
		<-scimDone
		s.logger.Error("fetching the Cursor roster failed", "error", err.Error())
		return nil, err
	}
	pass.rosterIn(rows) // the rest of enrichment need not wait for the SCIM listing

	<-scimDone
	if scimErr != nil {
		s.logger.Error("listing Cursor's SCIM users failed", "error", scimErr.Error())
		return nil, scimErr
	}
	snap := buildSnapshot(rows, users, readAt)
	pass.finish(snap)
	if err := ctx.Err(); err != nil {
		// Every caller left during enrichment: its *_unknown fields say
		// "cancelled", not what Cursor holds, so nobody may reuse it.
		return nil, status.FromContextError(err).Err()
	}
	s.logger.Info("fetched the Cursor roster", "rows", len(rows), "scim_users", len(users), "accounts", len(snap.all),
		"duration", s.now().Sub(start).String())
	return snap, nil
}
