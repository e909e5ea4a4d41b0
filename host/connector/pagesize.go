package connector

import (
	"context"

	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Pages the host returns to baton-sdk cross, in service mode, baton-sdk's
// gRPC hop from its parent to its _connector-service child, which keeps
// gRPC's default 4 MiB receive limit (baton-sdk v0.25.0's
// internal/connector sets no MaxCallRecvMsgSize). Every page is cut to
// maxPageBytes, half of that: the rest is the response's token and
// annotations, with room to spare.
const maxPageBytes = 2 << 20

// Counts asked of the plugin per page: a page of the largest items we
// support (an RFC 5321 address of 254 characters, a 256-byte name, every
// profile field set) stays under maxPageBytes (pagesize_test.go measures
// them), so fitPage only cuts past those bounds.
const (
	userPageSize  = 900  // 2,021 bytes a user at the bounds: 1.82 MB
	grantPageSize = 1500 // 1,243 bytes a grant at the bounds: 1.86 MB
)

// fitPage fetches a page of up to size items and, while its items are more
// than maxPageBytes, fetches it again with as many as fit: only the plugin
// can make a page token, so a page is cut by asking for fewer. what names the
// items in the error for one that does not fit alone, and in the debug line
// that gives each page's size.
func fitPage[T proto.Message](ctx context.Context, size int, what string, fetch func(size int) ([]T, string, error)) ([]T, string, error) {
	for {
		items, next, err := fetch(size)
		if err != nil {
			return nil, "", err
		}
		fit, bytes := fitting(items)
		if fit == len(items) {
			ctxzap.Extract(ctx).Debug("baton-cursor: page for baton-sdk",
				zap.String("of", what), zap.Int("items", fit), zap.Int("page_bytes", bytes))
			return items, next, nil
		}
		if fit == 0 {
			return nil, "", status.Errorf(codes.OutOfRange,
				"baton-cursor: one %s is %d bytes, more than a page may hold (%d bytes, for baton-sdk's 4 MiB gRPC limit)",
				what, proto.Size(items[0]), maxPageBytes)
		}
		size = fit
	}
}

// fitting is how many leading items fit in maxPageBytes as a repeated field,
// and their bytes: each costs its size plus a tag and a length of at most 4.
func fitting[T proto.Message](items []T) (int, int) {
	total := 0
	for i, it := range items {
		n := proto.Size(it) + 4
		if total+n > maxPageBytes {
			return i, total
		}
		total += n
	}
	return len(items), total
}
