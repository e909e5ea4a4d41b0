//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

const membersPath = "/teams/members"

// syncOK runs a one-shot sync against srvURL and reads the c1z back.
func syncOK(t *testing.T, srvURL string, extra ...string) (*c1zread.Contents, *hostRun, string) {
	t.Helper()
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := runHost(t, runOpts{Args: syncArgs(srvURL, c1z, extra...), Key: strPtr(testKey())}, 120*time.Second)
	if code := r.exitCode(); code != 0 {
		t.Fatalf("sync exited %d, want 0; output:\n%s", code, tail(r.out.String(), 30))
	}
	c, err := c1zread.Read(context.Background(), c1z)
	if err != nil {
		t.Fatalf("read %s: %v", c1z, err)
	}
	return c, r, c1z
}

// cursorIDText is the member id as the connector should store it: strings
// as-is, numbers in decimal.
func cursorIDText(t *testing.T, id any) string {
	t.Helper()
	switch v := id.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	}
	t.Fatalf("simulator member id of unexpected type %T", id)
	return ""
}

func TestSyncWritesEveryMemberAndRole(t *testing.T) {
	for _, style := range []simulator.IDStyle{simulator.IDStyleString, simulator.IDStyleNumber, simulator.IDStyleMixed} {
		t.Run(string(style), func(t *testing.T) {
			tenant, srv := newTenant(t, simulator.Config{Members: 200, Seed: 7, IDStyle: style})
			c, _, _ := syncOK(t, srv.URL)
			checkSyncMatchesTenant(t, tenant.Members(), c)
			if n := tenant.Requests(membersPath); n != 1 {
				t.Errorf("%s was requested %d times during one sync, want exactly 1", membersPath, n)
			}
		})
	}
}

// checkSyncMatchesTenant compares the c1z field by field with the roster.
func checkSyncMatchesTenant(t *testing.T, members []simulator.Member, c *c1zread.Contents) {
	t.Helper()
	want := map[string]simulator.Member{}
	for _, m := range members {
		key := strings.ToLower(m.Email)
		if _, dup := want[key]; dup {
			t.Fatalf("simulator roster repeats email %s; this test assumes unique emails", key)
		}
		want[key] = m
	}
	var sawRemoved, sawEmptyName, sawCapitals bool

	// Users.
	users := c.OfType("user")
	if len(users) != len(want) {
		t.Errorf("c1z holds %d users, want %d (one per distinct lower-cased email)", len(users), len(want))
	}
	seen := map[string]bool{}
	for _, u := range users {
		key := u.GetId().GetResource()
		m, ok := want[key]
		if !ok {
			t.Errorf("user %q is not a member of the tenant (ids must be lower-cased emails)", key)
			continue
		}
		if seen[key] {
			t.Errorf("user %q appears twice", key)
		}
		seen[key] = true

		wantName := m.Name
		if wantName == "" {
			wantName = m.Email
			sawEmptyName = true
		}
		if m.Email != key {
			sawCapitals = true
		}
		if got := u.GetDisplayName(); got != wantName {
			t.Errorf("user %s: display name %q, want %q", key, got, wantName)
		}
		ut, err := rs.GetUserTrait(u)
		if err != nil {
			t.Errorf("user %s: no user trait: %v", key, err)
			continue
		}
		if em := ut.GetEmails(); len(em) != 1 || em[0].GetAddress() != m.Email || !em[0].GetIsPrimary() {
			t.Errorf("user %s: emails %v, want exactly one primary %q (as Cursor returned it)", key, em, m.Email)
		}
		if got := ut.GetLogin(); got != m.Email {
			t.Errorf("user %s: login %q, want %q", key, got, m.Email)
		}
		if got := ut.GetAccountType(); got != v2.UserTrait_ACCOUNT_TYPE_HUMAN {
			t.Errorf("user %s: account type %v, want HUMAN", key, got)
		}
		wantRes, wantTrait := v2.Status_RESOURCE_STATUS_ENABLED, v2.UserTrait_Status_STATUS_ENABLED
		if m.IsRemoved {
			sawRemoved = true
			wantRes, wantTrait = v2.Status_RESOURCE_STATUS_DISABLED, v2.UserTrait_Status_STATUS_DISABLED
		}
		if got := u.GetStatus().GetStatus(); got != wantRes {
			t.Errorf("user %s (removed=%v): resource status %v, want %v", key, m.IsRemoved, got, wantRes)
		}
		if got := ut.GetStatus().GetStatus(); got != wantTrait {
			t.Errorf("user %s (removed=%v): user trait status %v, want %v", key, m.IsRemoved, got, wantTrait)
		}
		prof := u.GetProfile().GetFields()
		if got := prof["cursor_id"].GetStringValue(); got != wantCursorID(t, m) {
			t.Errorf("user %s: profile cursor_id %q (%v), want %q", key, got, prof["cursor_id"], wantCursorID(t, m))
		}
		if got := prof["role"].GetStringValue(); got != m.Role {
			t.Errorf("user %s: profile role %q, want %q", key, got, m.Role)
		}
		if rv, ok := prof["removed"]; !ok || rv.GetBoolValue() != m.IsRemoved {
			t.Errorf("user %s: profile removed %v, want %v", key, rv, m.IsRemoved)
		}
	}
	if !sawRemoved || !sawEmptyName || !sawCapitals {
		t.Errorf("roster lacks the variations this test relies on: removed=%v emptyName=%v capitals=%v",
			sawRemoved, sawEmptyName, sawCapitals)
	}

	// Roles: the three known ones with their names, plus every other role string.
	roleIDs := map[string]bool{}
	for _, m := range members {
		roleIDs[m.Role] = true
	}
	wantRoles := map[string]string{"owner": "Owner", "member": "Member", "free-owner": "Free Owner"}
	if !roleIDs["billing-admin"] {
		t.Fatalf("roster has no billing-admin member; this test relies on the simulator's unknown role")
	}
	roles := c.OfType("role")
	gotRoles := map[string]string{}
	for _, r := range roles {
		gotRoles[r.GetId().GetResource()] = r.GetDisplayName()
	}
	for id, name := range wantRoles {
		if got, ok := gotRoles[id]; !ok {
			t.Errorf("role %s missing from the c1z", id)
		} else if got != name {
			t.Errorf("role %s: display name %q, want %q", id, got, name)
		}
	}
	if name, ok := gotRoles["billing-admin"]; !ok || name == "" {
		t.Errorf("unknown role billing-admin missing (or unnamed) in the c1z: %v", gotRoles)
	}
	if len(roles) != 4 {
		t.Errorf("c1z holds roles %v, want exactly owner, member, free-owner, billing-admin", gotRoles)
	}
	if teams := c.OfType("team"); len(teams) != 1 || teams[0].GetId().GetResource() != "team" {
		t.Errorf("c1z holds team resources %v, want exactly one, id \"team\" (the audit feed's usage target)", teams)
	}
	if other := len(c.Resources) - len(users) - len(roles) - 1; other != 0 {
		t.Errorf("c1z holds %d resources that are neither users, roles nor the team", other)
	}

	// Entitlements: one per role.
	ents := map[string]*v2.Entitlement{}
	for _, e := range c.Entitlements {
		if _, dup := ents[e.GetId()]; dup {
			t.Errorf("entitlement %s appears twice", e.GetId())
		}
		ents[e.GetId()] = e
	}
	for id := range gotRoles {
		e, ok := ents["role:"+id+":assigned"]
		if !ok {
			t.Errorf("no entitlement role:%s:assigned; have %v", id, keys(ents))
			continue
		}
		if got := e.GetResource().GetId().GetResource(); got != id {
			t.Errorf("entitlement role:%s:assigned belongs to %q", id, got)
		}
	}
	if len(ents) != len(gotRoles) {
		t.Errorf("c1z holds %d entitlements %v, want one per role (%d)", len(ents), keys(ents), len(gotRoles))
	}

	// Grants: exactly one per active member, to its role; none for removed members.
	grantsOf := map[string][]*v2.Grant{}
	for _, g := range c.Grants {
		p := g.GetPrincipal().GetId()
		if p.GetResourceType() != "user" {
			t.Errorf("grant %s has a %q principal, want user", g.GetId(), p.GetResourceType())
			continue
		}
		grantsOf[p.GetResource()] = append(grantsOf[p.GetResource()], g)
	}
	active := 0
	for key, m := range want {
		gs := grantsOf[key]
		if m.IsRemoved {
			if len(gs) != 0 {
				t.Errorf("removed member %s has %d grants, want none", key, len(gs))
			}
			continue
		}
		active++
		if len(gs) != 1 {
			t.Errorf("active member %s has %d grants, want exactly 1", key, len(gs))
			continue
		}
		g := gs[0]
		wantEnt := "role:" + m.Role + ":assigned"
		if got := g.GetEntitlement().GetId(); got != wantEnt {
			t.Errorf("member %s: grant of %q, want %q", key, got, wantEnt)
		}
		if got, wantID := g.GetId(), wantEnt+":user:"+key; got != wantID {
			t.Errorf("member %s: grant id %q, want %q", key, got, wantID)
		}
	}
	for key := range grantsOf {
		if _, ok := want[key]; !ok {
			t.Errorf("grant to %q, who is not a member", key)
		}
	}
	if len(c.Grants) != active {
		t.Errorf("c1z holds %d grants, want %d (one per active member)", len(c.Grants), active)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestSyncCountsAtScale(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 10_000, Seed: 11})
	c, _, _ := syncOK(t, srv.URL)

	members := tenant.Members()
	wantGrants := map[string]int{}
	removed, active := 0, 0
	for _, m := range members {
		if m.IsRemoved {
			removed++
			continue
		}
		active++
		wantGrants["role:"+m.Role+":assigned"]++
	}
	users := c.OfType("user")
	if len(users) != len(members) {
		t.Errorf("users: %d, want %d", len(users), len(members))
	}
	disabled := 0
	for _, u := range users {
		if u.GetStatus().GetStatus() == v2.Status_RESOURCE_STATUS_DISABLED {
			disabled++
		}
	}
	if disabled != removed {
		t.Errorf("disabled users: %d, want %d", disabled, removed)
	}
	gotGrants := map[string]int{}
	for _, g := range c.Grants {
		gotGrants[g.GetEntitlement().GetId()]++
	}
	for ent, n := range wantGrants {
		if gotGrants[ent] != n {
			t.Errorf("grants of %s: %d, want %d", ent, gotGrants[ent], n)
		}
	}
	if len(c.Grants) != active {
		t.Errorf("grants: %d, want %d (active members); per entitlement %v, want %v", len(c.Grants), active, gotGrants, wantGrants)
	}
	if n := tenant.Requests(membersPath); n != 1 {
		t.Errorf("%s was requested %d times for a 10,000-member sync, want exactly 1", membersPath, n)
	}
}

// failureCase is a sync that must fail with a clear line.
type failureCase struct {
	name     string
	cfg      simulator.Config
	key      *string
	lastLine []string // the last non-empty output line names all of these
	anyLine  []string // some output line names all of these
	requests int      // exact /teams/members requests; -1 = not checked
	limit    time.Duration
}

func failureCases() []failureCase {
	bad := "crsr_" + strings.Repeat("0", 64)
	return []failureCase{
		{
			name: "bad key", key: &bad,
			lastLine: []string{"Cursor rejected the API key", "cursor-api-key"},
			requests: 1, limit: 60 * time.Second,
		},
		{
			name: "business plan", cfg: simulator.Config{BusinessPlan: true}, key: strPtr(testKey()),
			anyLine: []string{"Enterprise"}, requests: 1, limit: 60 * time.Second,
		},
		{
			name: "server keeps failing", key: strPtr(testKey()),
			cfg:      simulator.Config{Faults: simulator.Faults{ServerErrors: -1, ServerRetryAfter: "1"}},
			anyLine:  []string{"Cursor kept failing"},
			requests: 6, limit: 60 * time.Second,
		},
	}
}

func TestSyncFailures(t *testing.T) {
	cases := append(failureCases(),
		failureCase{name: "empty key", key: strPtr(""), anyLine: []string{"cursor-api-key"}, requests: 0, limit: 60 * time.Second},
		failureCase{name: "whitespace key", key: strPtr(" \t  "), anyLine: []string{"cursor-api-key"}, requests: 0, limit: 60 * time.Second},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Members = 50
			tenant, srv := newTenant(t, cfg)
			c1z := filepath.Join(t.TempDir(), "out.c1z")
			r := runHost(t, runOpts{Args: syncArgs(srv.URL, c1z), Key: tc.key}, tc.limit)
			out := r.out.String()
			if len(tc.anyLine) > 0 {
				requireFailure(t, r, tc.anyLine...)
			}
			if len(tc.lastLine) > 0 {
				requireFailure(t, r)
				last := lastLine(out)
				for _, p := range tc.lastLine {
					if !strings.Contains(last, p) {
						t.Errorf("last output line does not name %q:\n%s", p, last)
					}
				}
			}
			if got := tenant.Requests(membersPath); tc.requests >= 0 && got != tc.requests {
				t.Errorf("%s requests: %d, want %d", membersPath, got, tc.requests)
			}
			requireNoFinishedSync(t, c1z)
		})
	}
}

func TestSyncSucceedsAfterRateLimiting(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 3,
		Faults: simulator.Faults{RateLimited: 2, RetryAfter: "1"}})
	c, _, _ := syncOK(t, srv.URL)
	if n := tenant.Requests(membersPath); n != 3 {
		t.Errorf("%s requests: %d, want 3 (two 429s, then the answer)", membersPath, n)
	}
	if got := len(c.OfType("user")); got != 50 {
		t.Errorf("users after a rate-limited start: %d, want 50", got)
	}
}

// dumpContents renders everything a c1z holds as JSON text.
func dumpContents(t *testing.T, c *c1zread.Contents) []byte {
	t.Helper()
	var buf bytes.Buffer
	add := func(m proto.Message) {
		b, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	for _, r := range c.Resources {
		add(r)
	}
	for _, e := range c.Entitlements {
		add(e)
	}
	for _, g := range c.Grants {
		add(g)
	}
	return buf.Bytes()
}

func TestCapabilitiesAndConfigNeedNoConfiguration(t *testing.T) {
	t.Run("capabilities", func(t *testing.T) {
		r := runHost(t, runOpts{Args: []string{"capabilities"}}, 60*time.Second)
		if code := r.exitCode(); code != 0 {
			t.Fatalf("capabilities exited %d; output:\n%s", code, tail(r.out.String(), 20))
		}
		var caps struct {
			ResourceTypeCapabilities []struct {
				ResourceType struct {
					ID string `json:"id"`
				} `json:"resourceType"`
				Capabilities []string `json:"capabilities"`
			} `json:"resourceTypeCapabilities"`
		}
		if err := json.Unmarshal([]byte(jsonPart(r.out.String())), &caps); err != nil {
			t.Fatalf("capabilities output is not JSON: %v\n%s", err, r.out.String())
		}
		got := map[string][]string{}
		for _, rt := range caps.ResourceTypeCapabilities {
			got[rt.ResourceType.ID] = rt.Capabilities
		}
		for _, id := range []string{"user", "role"} {
			if !slices.Contains(got[id], "CAPABILITY_SYNC") {
				t.Errorf("resource type %s capabilities %v lack CAPABILITY_SYNC", id, got[id])
			}
		}
		if slices.Contains(got["role"], "CAPABILITY_PROVISION") {
			t.Errorf("role offers CAPABILITY_PROVISION, but Cursor has no API to change roles: %v", got["role"])
		}
		if len(got) != 3 || got["team"] == nil {
			t.Errorf("capabilities list resource types %v, want exactly user, role and team", keys(got))
		}
		if !strings.Contains(r.out.String(), "CAPABILITY_EVENT_FEED_V2") {
			t.Errorf("capabilities do not offer the audit event feed (CAPABILITY_EVENT_FEED_V2):\n%s", r.out.String())
		}
	})
	t.Run("config", func(t *testing.T) {
		r := runHost(t, runOpts{Args: []string{"config"}}, 60*time.Second)
		if code := r.exitCode(); code != 0 {
			t.Fatalf("config exited %d; output:\n%s", code, tail(r.out.String(), 20))
		}
		var cfg struct {
			DisplayName string `json:"displayName"`
			Fields      []struct {
				Name     string `json:"name"`
				IsSecret bool   `json:"isSecret"`
			} `json:"fields"`
		}
		if err := json.Unmarshal([]byte(jsonPart(r.out.String())), &cfg); err != nil {
			t.Fatalf("config output is not JSON: %v\n%s", err, r.out.String())
		}
		if cfg.DisplayName != "Cursor" {
			t.Errorf("config display name %q, want Cursor", cfg.DisplayName)
		}
		found := false
		for _, f := range cfg.Fields {
			if f.Name == "cursor-api-key" {
				found = true
				if !f.IsSecret {
					t.Errorf("cursor-api-key is not marked secret in the config schema")
				}
			}
		}
		if !found {
			t.Errorf("config schema has no cursor-api-key field")
		}
	})
}

// jsonPart is the output from its first '{' to its last '}' (log lines, if
// any, go before or after the document).
func jsonPart(out string) string {
	i, j := strings.Index(out, "{\n"), strings.LastIndex(out, "}")
	if i < 0 || j < i {
		return out
	}
	return out[i : j+1]
}
