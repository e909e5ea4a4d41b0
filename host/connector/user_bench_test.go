package connector

import (
	"fmt"
	"strings"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// benchMembers is the simulated team of n members as the plugin sends it.
func benchMembers(b *testing.B, n int) []*pluginv1.Member {
	b.Helper()
	tenant, err := simulator.New(simulator.Config{Members: n, Seed: 1, APIKey: simulator.DefaultAPIKey})
	if err != nil {
		b.Fatal(err)
	}
	rows := tenant.Members()
	out := make([]*pluginv1.Member, len(rows))
	for i, r := range rows {
		out[i] = &pluginv1.Member{
			Key: strings.ToLower(r.Email), Email: r.Email, Name: r.Name, Role: r.Role,
			Removed: r.IsRemoved, CursorId: fmt.Sprint(r.ID),
		}
	}
	return out
}

func reportPerMember(b *testing.B, members int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(members), "ns/member")
}

func BenchmarkUserResource100k(b *testing.B) {
	ms := benchMembers(b, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range ms {
			if _, err := UserResource(m); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportPerMember(b, len(ms))
}

func BenchmarkRoleGrants(b *testing.B) {
	ms := benchMembers(b, 100_000)
	role, err := rs.NewRoleResource("Member", RoleResourceType, "member", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range ms {
			grant.NewGrant(role, assignedEntitlement,
				v2.ResourceId_builder{ResourceType: UserResourceType.GetId(), Resource: m.GetKey()}.Build())
		}
	}
	reportPerMember(b, len(ms))
}

// BenchmarkUserPageFitting is what cutting pages by bytes adds per member:
// one proto.Size of each user resource (compare BenchmarkUserResource100k).
func BenchmarkUserPageFitting(b *testing.B) {
	ms := benchMembers(b, 100_000)
	users := make([]*v2.Resource, len(ms))
	for i, m := range ms {
		u, err := UserResource(m)
		if err != nil {
			b.Fatal(err)
		}
		users[i] = u
	}
	b.ReportAllocs()
	for b.Loop() {
		for start := 0; start < len(users); start += userPageSize {
			fitting(users[start:min(start+userPageSize, len(users))])
		}
	}
	reportPerMember(b, len(ms))
}
