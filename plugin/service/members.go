package service

import (
	"context"
	"encoding/base64"
	"sort"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

const (
	defaultPageSize = 1000
	maxPageSize     = 10000
	// pageTokenPrefix versions the token format: k2.<snapshot id>.<last key>
	// (k1 was never released).
	pageTokenPrefix = "k2."
)

// ListMembers returns one page of members in key order.
func (s *Server) ListMembers(ctx context.Context, req *pluginv1.ListMembersRequest) (*pluginv1.ListMembersResponse, error) {
	snapID, after, err := parsePageToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, status.Errorf(codes.InvalidArgument, "baton-cursor-plugin: page_size must not be negative (got %d)", size)
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}

	snap, err := s.pageSnapshot(ctx, req.GetSyncId(), snapID, after)
	if err != nil {
		return nil, err
	}
	// Pick the precomputed list that needs no filtering where one exists.
	role, includeRemoved := req.GetRole(), req.GetIncludeRemoved()
	list, filterRole := snap.active, ""
	switch {
	case includeRemoved && role == "":
		list = snap.all
	case includeRemoved:
		list, filterRole = snap.all, role
	case role != "":
		list = snap.activeByRole[role]
	}

	start := sort.Search(len(list), func(i int) bool { return list[i].GetKey() > after })
	page := make([]*pluginv1.Member, 0, min(size, len(list)-start))
	i := start
	for ; i < len(list) && len(page) < size; i++ {
		if filterRole == "" || list[i].GetRole() == filterRole {
			page = append(page, list[i])
		}
	}
	if req.GetKeysOnly() {
		keys := make([]pluginv1.Member, len(page))
		for i, m := range page {
			keys[i].Key = m.GetKey()
			page[i] = &keys[i]
		}
	}
	resp := &pluginv1.ListMembersResponse{Members: page}
	if i < len(list) && len(page) > 0 {
		resp.NextPageToken = pageToken(snap.id, page[len(page)-1].GetKey())
	}
	return resp, nil
}

// pageSnapshot returns the snapshot a page comes from: the one the token
// names while the plugin holds it, else the sync's (or the current) one. A
// listing then continues by key in a newer snapshot rather than failing, since
// baton-sdk resumes interrupted syncs with their saved tokens.
func (s *Server) pageSnapshot(ctx context.Context, syncID, snapID, after string) (*snapshot, error) {
	if snapID != "" {
		s.mu.Lock()
		held := s.heldLocked(snapID)
		if held != nil {
			s.pinLocked(syncID, held)
		}
		s.mu.Unlock()
		if held != nil {
			return held, nil
		}
	}
	snap, err := s.rosterFor(ctx, syncID)
	if err == nil && after != "" && snap.id != snapID {
		s.logger.Warn("a page token names a roster snapshot this plugin no longer holds (it restarted, or the listing paused too long); "+
			"continuing after the token's key in a newer snapshot, so this listing may mix two", "sync_id", syncID)
	}
	return snap, err
}

// pageToken is the token that resumes a listing of snapshot snapID after key.
func pageToken(snapID, key string) string {
	return pageTokenPrefix + snapID + "." + base64.RawURLEncoding.EncodeToString([]byte(key))
}

// parsePageToken returns the snapshot id and the last key of the previous
// page ("", "" for the first page).
func parsePageToken(tok string) (snapID, key string, err error) {
	if tok == "" {
		return "", "", nil
	}
	bad := status.Error(codes.InvalidArgument, "baton-cursor-plugin: page_token is not one this plugin issued; start the listing again without it")
	raw, ok := strings.CutPrefix(tok, pageTokenPrefix)
	if !ok {
		return "", "", bad
	}
	if snapID, raw, ok = strings.Cut(raw, "."); !ok || snapID == "" {
		return "", "", bad
	}
	if _, err := base64.RawURLEncoding.DecodeString(snapID); err != nil {
		return "", "", bad
	}
	k, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(k) == 0 || !utf8.Valid(k) {
		return "", "", bad
	}
	return snapID, string(k), nil
}
