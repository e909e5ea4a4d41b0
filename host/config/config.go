// Package config defines baton-cursor's settings. conf.gen.go is generated
// from them by `go generate ./host/config` (run by `make generate`).
package config

import (
	"github.com/conductorone/baton-cursor/internal/cursorhttp"
	"github.com/conductorone/baton-sdk/pkg/field"
)

//go:generate go run ./gen

var (
	// APIKeyField is the Cursor team Admin API key.
	APIKeyField = field.StringField("cursor-api-key",
		field.WithDisplayName("Cursor Admin API key"),
		field.WithDescription("Team Admin API key from cursor.com/dashboard → API Keys (starts with crsr_ or key_; Enterprise plan). Required unless cursor-org-api-key is set or plugin-address names a running sidecar, which then holds the key"),
		field.WithIsSecret(true),
	)
	// OrgAPIKeyField is the Cursor Organization API key: with it the whole
	// organization syncs (teams, organization roles and groups).
	OrgAPIKeyField = field.StringField("cursor-org-api-key",
		field.WithDisplayName("Cursor Organization API key"),
		field.WithDescription("Organization API key from the organization's dashboard → API Keys (Enterprise; a different kind of key from the team Admin API key). Optional: with it the organization's teams, roles and groups are synced too; alone, only the organization is synced"),
		field.WithIsSecret(true),
	)
	// BaseURLField points the connector at another Admin API, such as the simulated tenant.
	BaseURLField = field.StringField("cursor-base-url",
		field.WithDisplayName("Cursor Admin API base URL"),
		field.WithDescription("Base URL of the Cursor Admin API"),
		field.WithDefaultValue(cursorhttp.AdminAPI),
		field.WithExportTarget(field.ExportTargetCLIOnly),
	)
	// SCIMURLField is the tenant's SCIM 2.0 base URL; with the token it turns on provisioning.
	SCIMURLField = field.StringField("cursor-scim-url",
		field.WithDisplayName("Cursor SCIM base URL"),
		field.WithDescription("SCIM 2.0 base URL from the Cursor dashboard's SCIM setup (Enterprise, needs SSO); with the token, accounts can be created and removed"),
	)
	// SCIMTokenField is the bearer token for the SCIM endpoint.
	SCIMTokenField = field.StringField("cursor-scim-token",
		field.WithDisplayName("Cursor SCIM token"),
		field.WithDescription("Bearer token from the Cursor dashboard's SCIM setup"),
		field.WithIsSecret(true),
	)
	// RemoveUnmanagedField lets deletion reach members added in the Cursor dashboard.
	RemoveUnmanagedField = field.BoolField("cursor-remove-unmanaged",
		field.WithDisplayName("Remove dashboard-added members"),
		field.WithDescription("Also remove members who were not added through SCIM, with the Admin API's remove-member (Enterprise); off by default"),
		field.WithDefaultValue(false),
	)
	// OrganizationIDField is the opt-in to team membership writes: Cursor's
	// only route for them replaces a person's whole team set.
	OrganizationIDField = field.StringField("cursor-organization-id",
		field.WithDisplayName("Cursor organization id (team membership changes)"),
		field.WithDescription("The organization's id (org_…); setting it lets grants and revokes of org_team member entitlements change team membership through Cursor's team-memberships sync (read-modify-write: the person's other teams are kept). Off when unset"),
	)
	// ActivityDaysField is the lookback window of member activity (last login, active days).
	ActivityDaysField = field.IntField("cursor-activity-days",
		field.WithDisplayName("Activity lookback (days)"),
		field.WithDescription("Days of Cursor audit log and daily usage read for each member's last activity, active days and spend, 0 to 90; 0 turns activity and spend off"),
		field.WithDefaultValue(30),
	)
	// PluginAddressField attaches to a running sidecar instead of starting the plugin.
	PluginAddressField = field.StringField("plugin-address",
		field.WithDisplayName("Plugin sidecar address"),
		field.WithDescription("Use a running baton-cursor-plugin serve (sidecar) at this URL (e.g. http://127.0.0.1:8080) instead of starting the plugin; the Cursor settings then live in the sidecar's environment"),
		field.WithExportTarget(field.ExportTargetCLIOnly),
	)
	// PluginTokenFileField holds the sidecar's bearer token.
	PluginTokenFileField = field.StringField("plugin-token-file",
		field.WithDisplayName("Plugin sidecar token file"),
		field.WithDescription("File holding the bearer token the sidecar at plugin-address requires"),
		field.WithExportTarget(field.ExportTargetCLIOnly),
	)
	// HTTPTimeoutField is baton-sdk's --http-timeout-seconds with baton-cursor's
	// default: it bounds one attempt of a Cursor request (of up to 6), so
	// baton's 300 s default would let a stalled Cursor hold a sync for 30 min.
	HTTPTimeoutField = func() field.SchemaField {
		f := field.HttpTimeoutField.ExportAs(field.ExportTargetOps)
		f.DefaultValue = 60
		f.Description = "Limit in seconds of one attempt of a Cursor request (waiting for the answer and reading it), 1 to 1800; a slower attempt is retried, up to 6 attempts"
		return f
	}()
	// PluginPathField overrides where baton-cursor-plugin is found.
	PluginPathField = field.StringField("plugin-path",
		field.WithDisplayName("Plugin path"),
		field.WithDescription("Path to baton-cursor-plugin (default: beside baton-cursor, then PATH)"),
		field.WithExportTarget(field.ExportTargetCLIOnly),
	)
)

// Config is the schema baton-sdk builds flags, environment variables and the
// C1 configuration form from.
var Config = field.NewConfiguration(
	[]field.SchemaField{APIKeyField, OrgAPIKeyField, BaseURLField, SCIMURLField, SCIMTokenField, RemoveUnmanagedField, OrganizationIDField, ActivityDaysField,
		HTTPTimeoutField, PluginPathField, PluginAddressField, PluginTokenFileField},
	field.WithConnectorDisplayName("Cursor"),
	field.WithConstraints(
		field.FieldsRequiredTogether(SCIMURLField, SCIMTokenField),
		field.FieldsDependentOn([]field.SchemaField{RemoveUnmanagedField}, []field.SchemaField{SCIMURLField, SCIMTokenField}),
		field.FieldsDependentOn([]field.SchemaField{OrganizationIDField}, []field.SchemaField{OrgAPIKeyField}),
		field.FieldsDependentOn([]field.SchemaField{PluginTokenFileField}, []field.SchemaField{PluginAddressField}),
	),
)
