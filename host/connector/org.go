package connector

import (
	"context"
	"sync"
	"time"

	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// scope is which parts of Cursor a sync covers: the team key's team (as
// before the organization existed) and the organization. Without an
// Organization API key it is the team alone, and the c1z is what it was.
type scope struct {
	org     bool // an Organization API key is set: teams, organization roles, groups
	teamOff bool // no team Admin API key: the team's roster, roles and audit feed are off
}

// attachScope remembers what a sidecar said (one GetInfo per process).
var attachScope struct {
	once sync.Once
	sc   scope
}

// syncScope is the connector's scope; in attach mode the sidecar holds the
// keys, so its GetInfo says (a sidecar that does not answer keeps today's
// team-only scope; the sync then fails on its first call anyway).
func (c *Connector) syncScope(ctx context.Context) scope {
	if !c.attach {
		return c.scope
	}
	attachScope.once.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		svc, err := c.client(ctx)
		if err == nil {
			var info *pluginv1.GetInfoResponse
			if info, err = svc.GetInfo(ctx, &pluginv1.GetInfoRequest{VersionsOnly: true}); err == nil {
				attachScope.sc = scope{org: info.GetFeatures().GetOrganization(), teamOff: info.GetFeatures().GetOrgOnly()}
				return
			}
		}
		ctxzap.Extract(ctx).Warn("baton-cursor: could not ask the sidecar whether it syncs the organization; syncing the team only", zap.Error(err))
	})
	return attachScope.sc
}

// orgSyncers are the organization's resource types, in the order they
// sync: users come first (userBuilder), so the teams and roles below are
// served from the member pages the users already read.
func (c *Connector) orgSyncers(sc scope) []connectorbuilder.ResourceSyncerV2 {
	if !sc.org {
		return nil
	}
	out := []connectorbuilder.ResourceSyncerV2{
		&orgTeamBuilder{conn: c},
		&orgRoleBuilder{conn: c},
		&groupBuilder{conn: c, kind: pluginv1.GroupKind_GROUP_KIND_ORGANIZATION, rt: OrgGroupResourceType},
	}
	if !sc.teamOff { // team-scoped group layers are read with the team key
		out = append(out,
			&groupBuilder{conn: c, kind: pluginv1.GroupKind_GROUP_KIND_TEAM_DIRECTORY, rt: TeamDirectoryGroupResourceType},
			&groupBuilder{conn: c, kind: pluginv1.GroupKind_GROUP_KIND_BILLING, rt: BillingGroupResourceType})
	}
	return out
}
