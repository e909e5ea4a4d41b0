package connector

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/pagination"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// grpcDefaultMaxRecv is the limit baton-sdk's parent keeps on answers from
// its _connector-service child.
const grpcDefaultMaxRecv = 4 << 20

// longestEmail is an RFC 5321 address of the longest legal length, 254
// characters (a 64-character local part), distinct per i.
func longestEmail(i int) string {
	local := fmt.Sprintf("first.last.%06d.", i)
	local += strings.Repeat("x", 64-len(local))
	domain := "@engineering.emea.subsidiary-holdings."
	return local + domain + strings.Repeat("d", 254-len(local)-len(domain)-len(".example")) + ".example"
}

// longestRole is the longest role string the bounds assume: Cursor's are
// short words; an unknown one is synced as-is.
var longestRole = strings.Repeat("r", 64)

// worstMember is a member at every bound: the longest address, a 256-byte
// name, the longest role, SCIM facts and every activity and spend field set.
func worstMember(i int) *pluginv1.Member {
	email := longestEmail(i)
	ts := timestamppb.New(time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC))
	return &pluginv1.Member{
		Key: email, Email: strings.ToUpper(email[:1]) + email[1:],
		Name:     strings.Repeat("Ø", 128), // 256 bytes of UTF-8
		Role:     longestRole,
		CursorId: "user_" + strings.Repeat("Z", 26),
		// Pending first login carries the longest status details.
		ScimManaged: true, PendingFirstLogin: true,
		Activity: &pluginv1.Activity{
			WindowDays: handshake.MaxActivityDays, UsageKnown: true, ActiveDays: handshake.MaxActivityDays, LastActiveDay: "2026-12-31",
			LoginsKnown: true, LoginsReadSince: ts, LastLogin: ts, LastActivity: ts, WindowStart: ts,
			SpendKnown: true, SpendCents: 123456789.123456789, FastPremiumRequests: 4_000_000_000,
			SpendLimitDollars: proto.Float64(123456789.123456789), CycleStart: ts,
		},
	}
}

func worstRole(t *testing.T) *v2.Resource {
	t.Helper()
	r, err := RoleResource(&pluginv1.Role{Id: longestRole, DisplayName: longestRole, ActiveMembers: 4_000_000_000,
		Description: "A role string Cursor returned that baton-cursor does not know; synced as-is so no grant is lost."})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// longestToken stands in for a page token: the plugin's carries a snapshot id
// and the last key.
var longestToken = "k2." + strings.Repeat("s", 32) + "." + strings.Repeat("k", 340)

// checkPage fails unless a page's answer is under maxPageBytes, which keeps
// it at half of baton-sdk's 4 MiB limit.
func checkPage(t *testing.T, what string, items int, resp proto.Message) {
	t.Helper()
	n := proto.Size(resp)
	t.Logf("%s: a page of %d at the bounds is %d bytes (%d a item); limit %d, budget %d", what, items, n, n/max(items, 1), grpcDefaultMaxRecv, maxPageBytes)
	if n > maxPageBytes {
		t.Errorf("%s: a page of %d at the bounds is %d bytes, over the %d-byte budget (half of gRPC's %d); lower its page size",
			what, items, n, maxPageBytes, grpcDefaultMaxRecv)
	}
}

// A full page of users, of grants and of entitlements, every item at the
// bounds we support, fits baton-sdk's parent-child hop with half to spare.
func TestPagesAtTheBoundsFitBatonSdksGrpcLimit(t *testing.T) {
	t.Run("users", func(t *testing.T) {
		users := make([]*v2.Resource, userPageSize)
		for i := range users {
			u, err := UserResource(worstMember(i))
			if err != nil {
				t.Fatal(err)
			}
			users[i] = u
		}
		checkPage(t, "users", len(users), v2.ResourcesServiceListResourcesResponse_builder{List: users, NextPageToken: longestToken}.Build())
	})
	t.Run("grants", func(t *testing.T) {
		role := worstRole(t)
		grants := make([]*v2.Grant, grantPageSize)
		for i := range grants {
			grants[i] = RoleGrant(role, longestEmail(i))
		}
		checkPage(t, "grants", len(grants), v2.GrantsServiceListGrantsResponse_builder{List: grants, NextPageToken: longestToken}.Build())
	})
	t.Run("entitlements", func(t *testing.T) {
		ents, _, err := (&roleBuilder{}).Entitlements(context.Background(), worstRole(t), rs.SyncOpAttrs{})
		if err != nil {
			t.Fatal(err)
		}
		checkPage(t, "entitlements", len(ents), v2.EntitlementsServiceListEntitlementsResponse_builder{List: ents}.Build())
	})
}

// pagedPlugin is a plugin whose ListMembers pages members by count, as the
// real one does, with the offset as the page token.
type pagedPlugin struct {
	pluginv1.PluginServiceClient // only ListMembers is called
	members                      []*pluginv1.Member
	sizes                        []int32 // page sizes asked for, in order
}

func (p *pagedPlugin) Get(context.Context) (pluginv1.PluginServiceClient, error) { return p, nil }

func (p *pagedPlugin) ListMembers(_ context.Context, req *pluginv1.ListMembersRequest, _ ...grpc.CallOption) (*pluginv1.ListMembersResponse, error) {
	p.sizes = append(p.sizes, req.GetPageSize())
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		start, _ = strconv.Atoi(tok)
	}
	end := min(start+int(req.GetPageSize()), len(p.members))
	resp := &pluginv1.ListMembersResponse{}
	for _, m := range p.members[start:end] {
		if req.GetKeysOnly() {
			m = &pluginv1.Member{Key: m.GetKey()}
		}
		resp.Members = append(resp.Members, m)
	}
	if end < len(p.members) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// Members past the bounds (names Cursor does not limit) are cut into pages of
// at most maxPageBytes by asking the plugin for fewer, and every member is
// listed exactly once.
func TestUsersPastTheBoundsAreCutByBytes(t *testing.T) {
	p := &pagedPlugin{}
	for i := range 1500 {
		m := worstMember(i)
		m.Name = strings.Repeat("n", 10_000)
		p.members = append(p.members, m)
	}
	b := &userBuilder{conn: &Connector{plugin: p}}
	seen := map[string]bool{}
	pages := 0
	for tok := ""; ; {
		page, res, err := b.List(context.Background(), nil, rs.SyncOpAttrs{PageToken: pagination.Token{Token: tok}})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if n := proto.Size(v2.ResourcesServiceListResourcesResponse_builder{List: page, NextPageToken: res.NextPageToken}.Build()); n > maxPageBytes+len(res.NextPageToken)+8 {
			t.Errorf("page %d is %d bytes, over %d", pages, n, maxPageBytes)
		}
		for _, u := range page {
			if seen[u.GetId().GetResource()] {
				t.Errorf("user %s listed twice", u.GetId().GetResource())
			}
			seen[u.GetId().GetResource()] = true
		}
		if tok = res.NextPageToken; tok == "" {
			break
		}
	}
	if len(seen) != len(p.members) {
		t.Errorf("listed %d users, want %d", len(seen), len(p.members))
	}
	if pages < 2 || p.sizes[0] != userPageSize || p.sizes[1] >= userPageSize {
		t.Errorf("pages %d, sizes asked %v: want the first page asked at %d, then again at fewer", pages, p.sizes, userPageSize)
	}
}

// One member too large for any page fails the listing with one line saying
// so, rather than a page baton-sdk's hop would refuse.
func TestAMemberLargerThanAPageIsOneClearError(t *testing.T) {
	m := worstMember(0)
	m.Name = strings.Repeat("n", maxPageBytes)
	b := &userBuilder{conn: &Connector{plugin: &pagedPlugin{members: []*pluginv1.Member{m}}}}
	_, _, err := b.List(context.Background(), nil, rs.SyncOpAttrs{})
	if status.Code(err) != codes.OutOfRange || !strings.Contains(err.Error(), "more than a page may hold") {
		t.Fatalf("err = %v, want OutOfRange saying one user is more than a page may hold", err)
	}
}
