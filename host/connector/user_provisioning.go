package connector

import (
	"context"
	"fmt"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/host/oneshot"
)

var (
	_ connectorbuilder.AccountManagerLimited    = (*userBuilder)(nil)
	_ connectorbuilder.ResourceDeleterV2Limited = (*userBuilder)(nil)
)

// accountCreationSchema is the form C1 shows for "create account".
var accountCreationSchema = v2.ConnectorAccountCreationSchema_builder{
	FieldMap: map[string]*v2.ConnectorAccountCreationSchema_Field{
		"email": v2.ConnectorAccountCreationSchema_Field_builder{
			DisplayName: "Email", Required: true, Order: 1, Placeholder: "dana@example.com",
			Description: "Work email; it becomes the SCIM userName and the person's Cursor login",
			StringField: &v2.ConnectorAccountCreationSchema_StringField{},
		}.Build(),
		"given_name": v2.ConnectorAccountCreationSchema_Field_builder{
			DisplayName: "Given name", Order: 2, StringField: &v2.ConnectorAccountCreationSchema_StringField{},
		}.Build(),
		"family_name": v2.ConnectorAccountCreationSchema_Field_builder{
			DisplayName: "Family name", Order: 3, StringField: &v2.ConnectorAccountCreationSchema_StringField{},
		}.Build(),
	},
}.Build()

// CreateAccountCapabilityDetails: Cursor accounts have no password to set;
// people sign in through SSO.
func (b *userBuilder) CreateAccountCapabilityDetails(context.Context) (*v2.CredentialDetailsAccountProvisioning, annotations.Annotations, error) {
	return v2.CredentialDetailsAccountProvisioning_builder{
		SupportedCredentialOptions: []v2.CapabilityDetailCredentialOption{v2.CapabilityDetailCredentialOption_CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD},
		PreferredCredentialOption:  v2.CapabilityDetailCredentialOption_CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD,
	}.Build(), nil, nil
}

// CreateAccount creates a Cursor account through SCIM. Repeating it creates
// nothing and reports the existing account.
func (b *userBuilder) CreateAccount(ctx context.Context, info *v2.AccountInfo, _ *v2.LocalCredentialOptions) (
	connectorbuilder.CreateAccountResponse, []*v2.PlaintextData, annotations.Annotations, error) {
	if b.conn.provisioningOff {
		return nil, nil, nil, errProvisioningOff
	}
	profile := info.GetProfile().AsMap()
	text := func(k string) string { s, _ := profile[k].(string); return strings.TrimSpace(s) }
	email := text("email")
	for _, e := range info.GetEmails() {
		if email == "" && e.GetIsPrimary() {
			email = e.GetAddress()
		}
	}
	if email == "" {
		email = strings.TrimSpace(info.GetLogin())
	}
	if email == "" {
		return nil, nil, nil, status.Error(codes.InvalidArgument, "baton-cursor: create account: an email is required (profile field email, or the login)")
	}
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	resp, err := svc.Provision(ctx, &pluginv1.ProvisionRequest{Email: email, GivenName: text("given_name"), FamilyName: text("family_name")})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("baton-cursor: create account %s: %w", email, err)
	}
	ctxzap.Extract(ctx).Info(resp.GetMessage(), zap.String("outcome", resp.GetOutcome().String()))
	oneshot.Outcome(ctx, resp.GetMessage())
	r, err := UserResource(resp.GetMember())
	if err != nil {
		return nil, nil, nil, err
	}
	if resp.GetOutcome() == pluginv1.ProvisionResponse_OUTCOME_ALREADY_EXISTS {
		return v2.CreateAccountResponse_AlreadyExistsResult_builder{Resource: r}.Build(), nil, nil, nil
	}
	// The person must sign in once before Cursor lists them as a team member.
	return v2.CreateAccountResponse_ActionRequiredResult_builder{
		Resource: r, Message: resp.GetMessage(), IsCreateAccountResult: true,
	}.Build(), nil, nil, nil
}

// Delete removes a Cursor account by email (the user resource id). Removing an
// absent account succeeds.
func (b *userBuilder) Delete(ctx context.Context, id *v2.ResourceId, _ *v2.ResourceId) (annotations.Annotations, error) {
	if b.conn.provisioningOff {
		return nil, errProvisioningOff
	}
	if id.GetResourceType() != UserResourceType.GetId() {
		return nil, status.Errorf(codes.InvalidArgument, "baton-cursor: only users can be deleted, not %q", id.GetResourceType())
	}
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := svc.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: id.GetResource()})
	if err != nil {
		return nil, fmt.Errorf("baton-cursor: delete user %s: %w", id.GetResource(), err)
	}
	ctxzap.Extract(ctx).Info(resp.GetMessage(), zap.String("path", resp.GetPath().String()))
	oneshot.Outcome(ctx, resp.GetMessage())
	return nil, nil
}
