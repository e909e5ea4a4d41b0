package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
)

// groupCache keeps the last few whole reads of team directory and billing
// groups. A group's listing hands out groupPage members a call; the first
// call reads the group once and its tokens name that read, so the pages
// after it (asked in any order, or again) send nothing. A token whose read
// is gone (another plugin process, or evicted) reads the group again once.
type groupCache struct {
	mu    sync.Mutex
	snaps []*groupSnap // newest last, at most keptGroupReads
}

type groupSnap struct {
	id     string
	set    *settings
	kind   pluginv1.GroupKind
	group  string
	emails []string
}

// keptGroupReads: baton-sdk lists one group's members to the end before
// the next, so a few reads are enough for re-asks and stray order.
const keptGroupReads = 8

// groupToken is the page token of the page starting at offset of read snap.
func groupToken(offset int, snap string) string { return "o." + strconv.Itoa(offset) + "." + snap }

// groupMembers returns the group's emails, the read they come from and where
// the page token starts in them.
func (s *Server) groupMembers(ctx context.Context, set *settings, kind pluginv1.GroupKind, id, tok string) ([]string, string, int, error) {
	start, snapID := 0, ""
	if tok != "" {
		o, ok := strings.CutPrefix(tok, "o.")
		o, snapID, _ = strings.Cut(o, ".") // "o.<offset>" alone: an older plugin's token
		n, err := strconv.Atoi(o)
		if !ok || err != nil || n < 0 {
			return nil, "", 0, status.Errorf(codes.InvalidArgument, "baton-cursor-plugin: page token %q is not one this plugin made", tok)
		}
		start = n
	}
	c := &s.groups
	c.mu.Lock()
	i := slices.IndexFunc(c.snaps, func(g *groupSnap) bool {
		return snapID != "" && g.id == snapID && g.set == set && g.kind == kind && g.group == id
	})
	var snap *groupSnap
	if i >= 0 {
		snap = c.snaps[i]
	}
	c.mu.Unlock()
	if snap == nil {
		emails, err := readGroup(ctx, set, kind, id)
		if err != nil {
			return nil, "", 0, err
		}
		snap = &groupSnap{id: newSnapID(), set: set, kind: kind, group: id, emails: emails}
		c.mu.Lock()
		c.snaps = append(c.snaps, snap)
		if len(c.snaps) > keptGroupReads {
			c.snaps = slices.Delete(c.snaps, 0, len(c.snaps)-keptGroupReads)
		}
		c.mu.Unlock()
	}
	return snap.emails, snap.id, min(start, len(snap.emails)), nil
}

// readGroup reads a team directory or billing group's members whole.
func readGroup(ctx context.Context, set *settings, kind pluginv1.GroupKind, id string) ([]string, error) {
	c, err := teamGroups(set, kind)
	if err != nil {
		return nil, err
	}
	var ms []cursorapi.GroupMember
	if kind == pluginv1.GroupKind_GROUP_KIND_TEAM_DIRECTORY {
		if ms, err = c.DirectoryGroupMembers(ctx, id); err != nil {
			return nil, err
		}
	} else {
		gs, _, err := c.BillingGroups(ctx)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(gs, func(g cursorapi.BillingGroup) bool { return g.ID == id })
		if i < 0 {
			return nil, status.Errorf(codes.NotFound, "baton-cursor-plugin: Cursor has no billing group %s", id)
		}
		ms = gs[i].CurrentMembers
	}
	emails := make([]string, len(ms))
	for i, m := range ms {
		emails[i] = m.Email
	}
	return emails, nil
}

// newSnapID is unique across plugin processes, so a token from another
// process's read never matches one of this process's.
func newSnapID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
