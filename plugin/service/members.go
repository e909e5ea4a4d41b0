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
	// pageTokenPrefix versions the token format; a token is the last key seen,
	// so it stays valid when the roster snapshot is refreshed between pages.
	pageTokenPrefix = "k1."
)

// ListMembers returns one page of members in key order.
func (s *Server) ListMembers(ctx context.Context, req *pluginv1.ListMembersRequest) (*pluginv1.ListMembersResponse, error) {
	after, err := parsePageToken(req.GetPageToken())
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

	s.mu.Lock()
	snap, err := s.snapshotLocked(ctx)
	s.mu.Unlock()
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
		resp.NextPageToken = pageToken(page[len(page)-1].GetKey())
	}
	return resp, nil
}

// pageToken is the token that resumes a listing after key.
func pageToken(key string) string {
	return pageTokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(key))
}

// parsePageToken returns the last key of the previous page ("" for the first).
func parsePageToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	bad := status.Error(codes.InvalidArgument, "baton-cursor-plugin: page_token is not one this plugin issued; start the listing again without it")
	raw, ok := strings.CutPrefix(tok, pageTokenPrefix)
	if !ok {
		return "", bad
	}
	key, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(key) == 0 || !utf8.Valid(key) {
		return "", bad
	}
	return string(key), nil
}
