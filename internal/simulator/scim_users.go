package simulator

import (
	"net/http"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	scimfilter "github.com/scim2/filter-parser/v2"
)

// defaultSCIMMaxResults caps the SCIM count parameter unless
// Config.SCIMMaxResults says otherwise, like many IdP-facing servers.
const defaultSCIMMaxResults = 100

// newSCIMServer builds the /scim/v2 handler: github.com/elimity-com/scim
// parses requests, filters, paging and PATCH bodies and writes responses and
// errors; scimUsers keeps the data. It also serves /ServiceProviderConfig,
// /Schemas and /ResourceTypes.
func newSCIMServer(t *Tenant) (http.Handler, error) {
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			AuthenticationSchemes: []scim.AuthenticationScheme{{
				Type:        scim.AuthenticationTypeOauthBearerToken,
				Name:        "OAuth Bearer Token",
				Description: "Authentication with the SCIM token from the Cursor dashboard",
				Primary:     true,
			}},
			MaxResults:       t.scimMaxResults,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []scim.ResourceType{{
			ID:          optional.NewString("User"),
			Name:        "User",
			Endpoint:    "/Users",
			Description: optional.NewString("User Account"),
			Schema:      schema.CoreUserSchema(),
			Handler:     scimUsers{t},
		}},
	}, scim.WithBaseURL(pathSCIM))
	if err != nil {
		return nil, err
	}
	return http.StripPrefix("/scim", srv), nil // the library expects paths starting at /v2
}

// scimUsers is the /Users resource handler. PUT is not supported (501).
type scimUsers struct{ t *Tenant }

func (u *scimUser) resource() scim.Resource {
	res := scim.Resource{ID: u.ID, Attributes: scim.ResourceAttributes{
		"userName": u.UserName,
		"name":     map[string]any{"givenName": u.GivenName, "familyName": u.FamilyName},
		"emails":   []any{map[string]any{"value": u.UserName, "type": "work", "primary": true}},
		"active":   u.Active,
	}}
	if u.externalID != "" {
		res.ExternalID = optional.NewString(u.externalID)
	}
	return res
}

func notFound(id string) error { return scimerrors.ScimErrorResourceNotFound(id) }

func (h scimUsers) Create(_ *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	userName, _ := attrs["userName"].(string)
	if strings.TrimSpace(userName) == "" {
		return scim.Resource{}, scimerrors.ScimErrorBadRequest("userName must not be empty")
	}
	name, _ := attrs["name"].(map[string]any)
	given, _ := name["givenName"].(string)
	family, _ := name["familyName"].(string)
	active, ok := attrs["active"].(bool)
	if !ok {
		active = true
	}
	externalID, _ := attrs["externalId"].(string)

	t := h.t
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.dirLocked()
	if len(t.namedLocked(userName)) > 0 {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	u := d.add(&scimUser{
		SCIMUser:   SCIMUser{ID: t.gen.scimID(d.next), UserName: userName, GivenName: given, FamilyName: family, Active: active},
		externalID: externalID,
		row:        -1,
	})
	if t.autoFirstLogin && active {
		t.firstLoginLocked(u)
	}
	return u.resource(), nil
}

func (h scimUsers) Get(_ *http.Request, id string) (scim.Resource, error) {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	u := h.t.dirLocked().byID[id]
	if u == nil {
		return scim.Resource{}, notFound(id)
	}
	return u.resource(), nil
}

// GetAll answers a list. params.Count is already capped at Config.SCIMMaxResults and
// StartIndex is at least 1.
func (h scimUsers) GetAll(_ *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	d := h.t.dirLocked()
	list := d.users
	if v := params.FilterValidator; v != nil {
		if userName, ok := userNameEq(v.GetFilter()); ok {
			list = h.t.namedLocked(userName) // the common case, without a scan
			if h.t.takeSearchMissLocked() {
				list = nil
			}
		} else {
			list = nil
			for _, u := range d.users {
				attrs := u.resource().Attributes
				attrs["id"] = u.ID
				if v.PassesFilter(attrs) == nil {
					list = append(list, u)
				}
			}
		}
	}
	start := min(params.StartIndex-1, len(list))
	end := min(start+params.Count, len(list))
	page := scim.Page{TotalResults: len(list), Resources: make([]scim.Resource, 0, end-start)}
	for _, u := range list[start:end] {
		page.Resources = append(page.Resources, u.resource())
	}
	return page, nil
}

// namedLocked lists the users with this userName: ignoring case (RFC 7643),
// or exactly with Config.SCIMCaseSensitiveUserName.
func (t *Tenant) namedLocked(userName string) []*scimUser {
	same := t.dirLocked().byName[strings.ToLower(userName)]
	if !t.scimExactCase {
		return same
	}
	var exact []*scimUser
	for _, u := range same {
		if u.UserName == userName {
			exact = append(exact, u)
		}
	}
	return exact
}

// userNameEq recognises `userName eq "value"`.
func userNameEq(e scimfilter.Expression) (string, bool) {
	a, ok := e.(*scimfilter.AttributeExpression)
	if !ok || a.Operator != scimfilter.EQ || a.AttributePath.SubAttribute != nil ||
		!strings.EqualFold(a.AttributePath.AttributeName, "userName") ||
		a.AttributePath.URIPrefix != nil && *a.AttributePath.URIPrefix != schema.UserSchema {
		return "", false
	}
	s, ok := a.CompareValue.(string)
	return s, ok
}

func (h scimUsers) Replace(*http.Request, string, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, scimerrors.ScimError{Status: http.StatusNotImplemented, Detail: "PUT is not supported; use PATCH."}
}

// Delete removes the SCIM user and marks its team member removed.
func (h scimUsers) Delete(_ *http.Request, id string) error {
	t := h.t
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.dirLocked()
	u := d.byID[id]
	if u == nil {
		return notFound(id)
	}
	t.setActiveLocked(u, false)
	d.remove(u)
	if t.deleteRaceLeft > 0 { // Faults.SCIMConcurrentDeletes: someone else was first
		t.deleteRaceLeft--
		return notFound(id)
	}
	return nil
}

// takeSearchMissLocked reports whether this search by userName misses
// (Faults.SCIMSearchMisses).
func (t *Tenant) takeSearchMissLocked() bool {
	switch {
	case t.searchMissLeft == -1:
		return true
	case t.searchMissLeft > 0:
		t.searchMissLeft--
		return true
	}
	return false
}

// Patch applies "replace" (or "add") of active, with a path or in the
// path-less form {"op":"replace","value":{"active":false}} that Okta and
// Entra send. Other attributes are accepted and ignored.
func (h scimUsers) Patch(_ *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	t := h.t
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.dirLocked().byID[id]
	if u == nil {
		return scim.Resource{}, notFound(id)
	}
	for _, op := range ops {
		if op.Op != scim.PatchOperationReplace && op.Op != scim.PatchOperationAdd {
			continue
		}
		if active, ok := patchedActive(op); ok {
			t.setActiveLocked(u, active)
		}
	}
	return u.resource(), nil
}

func patchedActive(op scim.PatchOperation) (active, ok bool) {
	if op.Path == nil {
		values, _ := op.Value.(map[string]any)
		for k, v := range values {
			if strings.EqualFold(k, "active") {
				active, ok = v.(bool)
			}
		}
		return active, ok
	}
	p := op.Path.AttributePath
	if p.SubAttribute != nil || op.Path.SubAttribute != nil || op.Path.ValueExpression != nil ||
		!strings.EqualFold(p.AttributeName, "active") {
		return false, false
	}
	active, ok = op.Value.(bool)
	return active, ok
}
