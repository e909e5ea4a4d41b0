//go:build linux

package e2e

// End-to-end tests of account provisioning through SCIM (docs/design.md
// "Provisioning", README "Create and remove accounts (SCIM)"): the real
// baton-cursor and baton-cursor-plugin binaries run the one-shot create and
// delete commands of baton-sdk against the simulated tenant, and a sync reads
// the outcome back from the c1z.

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// Request-count keys of the simulated tenant (see simulator.Tenant.Requests).
const (
	keySCIMCreate   = "POST /scim/v2/Users"
	keySCIMDelete   = "DELETE /scim/v2/Users"
	keySCIMList     = "GET /scim/v2/Users"
	keyRemoveMember = "/teams/remove-member"
)

// Cursor's own refusal of POST /teams/remove-member when the last admin would go.
const lastAdminText = "At least one admin (owner or free-owner) must remain on the team after removal"

// scimTestToken is a recognisable SCIM bearer token, built in code: "scim_"
// and 48 base62 characters from a fixed pseudo-random sequence (not the API
// key's sequence, so a leak of one is never mistaken for the other).
func scimTestToken() string { return recognisableSecret("scim_", 48, 0x2545F491) }

// newSCIMTenant starts a simulated tenant that serves SCIM with scimTestToken
// (unless cfg sets another token).
func newSCIMTenant(t *testing.T, cfg simulator.Config) (*simulator.Tenant, string) {
	t.Helper()
	if cfg.SCIMToken == "" {
		cfg.SCIMToken = scimTestToken()
	}
	tenant, srv := newTenant(t, cfg)
	return tenant, srv.URL
}

// scimEnv is the environment that turns provisioning on for the tenant at base.
func scimEnv(base, token string, extra ...string) []string {
	return append([]string{"BATON_CURSOR_SCIM_URL=" + base + "/scim/v2", "BATON_CURSOR_SCIM_TOKEN=" + token}, extra...)
}

// createArgs is the one-shot create of an account with a name.
func createArgs(email, given, family string) []string {
	profile, _ := json.Marshal(map[string]string{"email": email, "given_name": given, "family_name": family})
	return []string{"--create-account-email", email, "--create-account-login", email,
		"--create-account-profile", string(profile)}
}

// deleteArgs is the one-shot delete of the user with this id (the lower-cased email).
func deleteArgs(id string) []string {
	return []string{"--delete-resource", id, "--delete-resource-type", "user"}
}

// runCursor runs baton-cursor against the tenant at base with the API key,
// the extra environment and args, to completion.
func runCursor(t *testing.T, base string, env []string, args ...string) *hostRun {
	t.Helper()
	return runHost(t, runOpts{
		Args: append([]string{"--cursor-base-url", base}, args...),
		Key:  strPtr(testKey()),
		Env:  env,
	}, 90*time.Second)
}

// requireOK checks a zero exit.
func requireOK(t *testing.T, what string, r *hostRun) {
	t.Helper()
	if code := r.exitCode(); code != 0 {
		t.Fatalf("%s exited %d, want 0; output:\n%s", what, code, tail(r.out.String(), 30))
	}
}

// requireLine checks that some output line names every one of parts.
func requireLine(t *testing.T, what string, r *hostRun, parts ...string) {
	t.Helper()
	if _, ok := anyLine(r.out.String(), parts...); !ok {
		t.Errorf("%s: no output line names all of %q; output:\n%s", what, parts, tail(r.out.String(), 20))
	}
}

// requireLastLine checks a non-zero exit and that the last non-empty output
// line names every one of parts.
func requireLastLine(t *testing.T, what string, r *hostRun, parts ...string) {
	t.Helper()
	out := r.out.String()
	if code := r.exitCode(); code == 0 {
		t.Errorf("%s exited 0, want non-zero; output:\n%s", what, tail(out, 20))
	}
	last := lastLine(out)
	for _, p := range parts {
		if !strings.Contains(last, p) {
			t.Errorf("%s: the last output line does not name %q:\n%s", what, p, last)
		}
	}
}

// syncWith runs a one-shot sync with the extra environment and reads the c1z.
func syncWith(t *testing.T, base string, env []string, extra ...string) (*c1zread.Contents, *hostRun, string) {
	t.Helper()
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := runHost(t, runOpts{Args: syncArgs(base, c1z, extra...), Key: strPtr(testKey()), Env: env}, 120*time.Second)
	requireOK(t, "sync", r)
	c, err := c1zread.Read(context.Background(), c1z)
	if err != nil {
		t.Fatalf("read %s: %v", c1z, err)
	}
	return c, r, c1z
}

// userIn returns the user resource with this id, or nil.
func userIn(c *c1zread.Contents, id string) *v2.Resource {
	for _, u := range c.OfType("user") {
		if u.GetId().GetResource() == id {
			return u
		}
	}
	return nil
}

// grantsTo lists the entitlement ids granted to the user with this id.
func grantsTo(c *c1zread.Contents, id string) []string {
	var out []string
	for _, g := range c.Grants {
		if p := g.GetPrincipal().GetId(); p.GetResourceType() == "user" && p.GetResource() == id {
			out = append(out, g.GetEntitlement().GetId())
		}
	}
	return out
}

// requireProfileBool checks a boolean field of the user's profile.
func requireProfileBool(t *testing.T, u *v2.Resource, field string, want bool) {
	t.Helper()
	v, ok := u.GetProfile().GetFields()[field]
	if !ok {
		t.Errorf("user %s: profile has no %s (profile %v)", u.GetId().GetResource(), field, u.GetProfile())
		return
	}
	if got := v.GetBoolValue(); got != want {
		t.Errorf("user %s: profile %s = %v, want %v", u.GetId().GetResource(), field, v, want)
	}
}

// allRequests is every request count the tenant at base holds, by key.
func allRequests(t *testing.T, base string) map[string]int {
	t.Helper()
	resp, err := http.Get(base + "/_simulator/requests")
	if err != nil {
		t.Fatalf("read request counts: %v", err)
	}
	defer resp.Body.Close()
	counts := map[string]int{}
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		t.Fatalf("decode request counts: %v", err)
	}
	return counts
}

// scimRequests sums the counts of every request under /scim/v2.
func scimRequests(counts map[string]int) int {
	n := 0
	for k, v := range counts {
		if strings.Contains(k, "/scim/v2") {
			n += v
		}
	}
	return n
}

// memberByEmail returns the tenant's member with this email (any case).
func memberByEmail(tenant *simulator.Tenant, email string) (simulator.Member, bool) {
	for _, m := range tenant.Members() {
		if strings.EqualFold(m.Email, email) {
			return m, true
		}
	}
	return simulator.Member{}, false
}

// scimUsersNamed lists the tenant's SCIM users with this userName (any case).
func scimUsersNamed(tenant *simulator.Tenant, userName string) []simulator.SCIMUser {
	var out []simulator.SCIMUser
	for _, u := range tenant.SCIMUsers() {
		if strings.EqualFold(u.UserName, userName) {
			out = append(out, u)
		}
	}
	return out
}

// 1. Create makes exactly one SCIM user, says the account joins at first
// login, and a repeat creates nothing. The account shows as pending until the
// first login, then as an active member holding the member role.
func TestCreateAccountThroughSCIM(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 21})
	env := scimEnv(base, token)
	const email, given, family = "ada.byron@newhire.test", "Ada", "Byron"
	before := len(tenant.SCIMUsers())

	r := runCursor(t, base, env, createArgs(email, given, family)...)
	requireOK(t, "create", r)
	requireLine(t, "create", r, email, "first login")
	if line, ok := anyLine(r.out.String(), email, "already"); ok {
		t.Errorf("the first create says the account already exists: %s", line)
	}
	users := tenant.SCIMUsers()
	if len(users) != before+1 {
		t.Errorf("SCIM users: %d after create, want %d (one more)", len(users), before+1)
	}
	created := scimUsersNamed(tenant, email)
	if len(created) != 1 {
		t.Fatalf("SCIM users with userName %s: %d, want exactly 1 (%+v)", email, len(created), created)
	}
	if u := created[0]; u.UserName != email || u.GivenName != given || u.FamilyName != family || !u.Active {
		t.Errorf("created SCIM user %+v, want userName %s, givenName %s, familyName %s, active", u, email, given, family)
	}
	if n := tenant.Requests(keySCIMCreate); n != 1 {
		t.Errorf("%s requests: %d, want 1", keySCIMCreate, n)
	}

	// Again: nothing is created, and the output says the account exists.
	r = runCursor(t, base, env, createArgs(email, given, family)...)
	requireOK(t, "repeated create", r)
	requireLine(t, "repeated create", r, email, "already")
	if n := tenant.Requests(keySCIMCreate); n != 1 {
		t.Errorf("%s requests after the repeated create: %d, want still 1", keySCIMCreate, n)
	}
	if n := len(scimUsersNamed(tenant, email)); n != 1 {
		t.Errorf("SCIM users with userName %s after the repeated create: %d, want 1", email, n)
	}

	// Not a team member until the first login; the sync shows a pending account.
	if m, ok := memberByEmail(tenant, email); ok {
		t.Fatalf("%s is a team member before the first login: %+v", email, m)
	}
	c, _, _ := syncWith(t, base, env)
	u := userIn(c, email)
	if u == nil {
		t.Fatalf("the sync before the first login has no user %s", email)
	}
	requireProfileBool(t, u, "pending_first_login", true)
	requireProfileBool(t, u, "scim_managed", true)
	if got := u.GetDisplayName(); got != given+" "+family {
		t.Errorf("pending user's display name %q, want %q", got, given+" "+family)
	}
	if g := grantsTo(c, email); len(g) != 0 {
		t.Errorf("pending user %s has grants %v, want none", email, g)
	}

	// After the first login: an active member with the member role.
	if err := tenant.FirstLogin(email); err != nil {
		t.Fatalf("FirstLogin: %v", err)
	}
	if _, ok := memberByEmail(tenant, email); !ok {
		t.Fatalf("%s is not a team member after the first login", email)
	}
	c, _, _ = syncWith(t, base, env)
	u = userIn(c, email)
	if u == nil {
		t.Fatalf("the sync after the first login has no user %s", email)
	}
	requireProfileBool(t, u, "pending_first_login", false)
	requireProfileBool(t, u, "scim_managed", true)
	requireProfileBool(t, u, "removed", false)
	if st := u.GetStatus().GetStatus(); st != v2.Status_RESOURCE_STATUS_ENABLED {
		t.Errorf("user %s after the first login: status %v, want ENABLED", email, st)
	}
	if g := grantsTo(c, email); !slices.Equal(g, []string{"role:member:assigned"}) {
		t.Errorf("user %s after the first login has grants %v, want exactly [role:member:assigned]", email, g)
	}
}

// 7. Without the SCIM settings both actions fail, naming the two settings,
// and nothing reaches SCIM.
func TestProvisionWithoutSCIMSettings(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 27})
	before := len(tenant.SCIMUsers())
	m := tenant.Members()[simulator.RowSCIMActive]
	for name, args := range map[string][]string{
		"create": createArgs("new.person@newhire.test", "New", "Person"),
		"delete": deleteArgs(strings.ToLower(m.Email)),
	} {
		r := runCursor(t, base, nil, args...)
		if r.exitCode() == 0 {
			t.Errorf("%s without SCIM settings exited 0; output:\n%s", name, tail(r.out.String(), 20))
		}
		requireLine(t, name+" without SCIM settings", r, "cursor-scim-url", "cursor-scim-token")
	}
	if n := scimRequests(allRequests(t, base)); n != 0 {
		t.Errorf("SCIM requests: %d, want 0 (%v)", n, allRequests(t, base))
	}
	if n := tenant.Requests(keyRemoveMember); n != 0 {
		t.Errorf("%s requests: %d, want 0", keyRemoveMember, n)
	}
	if len(tenant.SCIMUsers()) != before || tenant.Members()[simulator.RowSCIMActive].IsRemoved {
		t.Errorf("the tenant changed although provisioning is off")
	}
}

// 8. Incomplete or inconsistent settings fail before any request.
func TestProvisionSettingsErrors(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	cases := []struct {
		name  string
		env   func(base string) []string
		parts []string
	}{
		{"url without token", func(base string) []string { return []string{"BATON_CURSOR_SCIM_URL=" + base + "/scim/v2"} },
			[]string{"cursor-scim-token"}},
		{"token without url", func(string) []string { return []string{"BATON_CURSOR_SCIM_TOKEN=" + token} },
			[]string{"cursor-scim-url"}},
		{"remove-unmanaged without SCIM", func(string) []string { return []string{"BATON_CURSOR_REMOVE_UNMANAGED=true"} },
			[]string{"cursor-remove-unmanaged", "cursor-scim-url"}},
	}
	commands := map[string]func(t *testing.T) []string{
		"create": func(*testing.T) []string { return createArgs("new.person@newhire.test", "New", "Person") },
		"delete": func(*testing.T) []string { return deleteArgs("someone@acme.example") },
		"sync":   func(t *testing.T) []string { return []string{"-f", filepath.Join(t.TempDir(), "out.c1z")} },
	}
	for _, tc := range cases {
		for cmd, args := range commands {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				_, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 28})
				r := runCursor(t, base, tc.env(base), args(t)...)
				requireFailure(t, r, tc.parts...)
				if counts := allRequests(t, base); len(counts) != 0 {
					t.Errorf("requests reached the tenant despite the settings error: %v", counts)
				}
			})
		}
	}
}

// 9. Capabilities and config describe provisioning.
func TestProvisionCapabilitiesAndConfig(t *testing.T) {
	t.Parallel()
	r := runHost(t, runOpts{Args: []string{"capabilities"}}, 60*time.Second)
	requireOK(t, "capabilities", r)
	var caps struct {
		ResourceTypeCapabilities []struct {
			ResourceType struct {
				ID string `json:"id"`
			} `json:"resourceType"`
			Capabilities []string `json:"capabilities"`
		} `json:"resourceTypeCapabilities"`
		CredentialDetails struct {
			CapabilityAccountProvisioning struct {
				SupportedCredentialOptions []string `json:"supportedCredentialOptions"`
				PreferredCredentialOption  string   `json:"preferredCredentialOption"`
			} `json:"capabilityAccountProvisioning"`
		} `json:"credentialDetails"`
	}
	if err := json.Unmarshal([]byte(jsonPart(r.out.String())), &caps); err != nil {
		t.Fatalf("capabilities output is not JSON: %v\n%s", err, r.out.String())
	}
	got := map[string][]string{}
	for _, rt := range caps.ResourceTypeCapabilities {
		c := slices.Clone(rt.Capabilities)
		slices.Sort(c)
		got[rt.ResourceType.ID] = c
	}
	wantUser := []string{"CAPABILITY_ACCOUNT_PROVISIONING", "CAPABILITY_RESOURCE_DELETE", "CAPABILITY_SYNC"}
	if !slices.Equal(got["user"], wantUser) {
		t.Errorf("user capabilities %v, want %v", got["user"], wantUser)
	}
	if !slices.Equal(got["role"], []string{"CAPABILITY_SYNC"}) {
		t.Errorf("role capabilities %v, want [CAPABILITY_SYNC] only", got["role"])
	}
	ap := caps.CredentialDetails.CapabilityAccountProvisioning
	const noPassword = "CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD"
	if !slices.Equal(ap.SupportedCredentialOptions, []string{noPassword}) || ap.PreferredCredentialOption != noPassword {
		t.Errorf("account provisioning credential options %v (preferred %q), want only %s", ap.SupportedCredentialOptions, ap.PreferredCredentialOption, noPassword)
	}

	r = runHost(t, runOpts{Args: []string{"config"}}, 60*time.Second)
	requireOK(t, "config", r)
	var cfg struct {
		Fields []struct {
			Name     string `json:"name"`
			IsSecret bool   `json:"isSecret"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(jsonPart(r.out.String())), &cfg); err != nil {
		t.Fatalf("config output is not JSON: %v\n%s", err, r.out.String())
	}
	secret := map[string]bool{}
	for _, f := range cfg.Fields {
		secret[f.Name] = f.IsSecret
	}
	if s, ok := secret["cursor-scim-token"]; !ok || !s {
		t.Errorf("cursor-scim-token in the config schema: present=%v secret=%v, want a secret field", ok, s)
	}
	if s, ok := secret["cursor-scim-url"]; !ok || s {
		t.Errorf("cursor-scim-url in the config schema: present=%v secret=%v, want a non-secret field", ok, s)
	}
}
