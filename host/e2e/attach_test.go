//go:build linux

// Attach mode: baton-cursor syncing through a running sidecar.

package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/protobuf/proto"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// scAttachArgs are the flags of a one-shot sync through the sidecar at base.
func scAttachArgs(base, c1z string, extra ...string) []string {
	return append([]string{"--plugin-address", base, "-f", c1z}, extra...)
}

func TestAttachModeSync(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 200, Seed: 7})
	_, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "127.0.0.1:0")

	aPath := filepath.Join(t.TempDir(), "a.c1z")
	// No Cursor setting in the host's environment (Key nil, BATON_ stripped).
	ra := runHost(t, runOpts{Args: scAttachArgs(base, aPath)}, 120*time.Second)
	if code := ra.exitCode(); code != 0 {
		t.Fatalf("attached sync exited %d, want 0; output:\n%s", code, tail(ra.out.String(), 30))
	}
	a, err := c1zread.Read(context.Background(), aPath)
	if err != nil {
		t.Fatalf("read %s: %v", aPath, err)
	}
	// The same tenant, synced the usual way (the host starts the plugin).
	b, _, _ := syncOK(t, srv.URL)

	checkSyncMatchesTenant(t, tenant.Members(), a)
	scCompareC1Z(t, a, b)
}

// scCompareC1Z requires two syncs of one tenant to hold the same resources,
// entitlements and grants.
func scCompareC1Z(t *testing.T, a, b *c1zread.Contents) {
	t.Helper()
	resKey := func(r *v2.Resource) string {
		return r.GetId().GetResourceType() + ":" + r.GetId().GetResource()
	}
	bRes := map[string]*v2.Resource{}
	for _, r := range b.Resources {
		bRes[resKey(r)] = r
	}
	if len(a.Resources) != len(b.Resources) {
		t.Errorf("attached sync: %d resources, subprocess sync: %d", len(a.Resources), len(b.Resources))
	}
	for _, ra := range a.Resources {
		k := resKey(ra)
		rb, ok := bRes[k]
		if !ok {
			t.Errorf("resource %s is only in the attached sync", k)
			continue
		}
		delete(bRes, k)
		if ra.GetDisplayName() != rb.GetDisplayName() {
			t.Errorf("resource %s: display name %q (attached) vs %q", k, ra.GetDisplayName(), rb.GetDisplayName())
		}
		if !proto.Equal(ra.GetStatus(), rb.GetStatus()) {
			t.Errorf("resource %s: status %v (attached) vs %v", k, ra.GetStatus(), rb.GetStatus())
		}
		if !proto.Equal(ra.GetProfile(), rb.GetProfile()) {
			t.Errorf("resource %s: profile %v (attached) vs %v", k, ra.GetProfile(), rb.GetProfile())
		}
		if ra.GetDescription() != rb.GetDescription() {
			t.Errorf("resource %s: description %q (attached) vs %q", k, ra.GetDescription(), rb.GetDescription())
		}
		ua, errA := rs.GetUserTrait(ra)
		ub, errB := rs.GetUserTrait(rb)
		if (errA == nil) != (errB == nil) {
			t.Errorf("resource %s: user trait in one sync only (%v / %v)", k, errA, errB)
		} else if errA == nil {
			if !slices.EqualFunc(ua.GetEmails(), ub.GetEmails(), func(x, y *v2.UserTrait_Email) bool { return proto.Equal(x, y) }) {
				t.Errorf("user %s: emails %v (attached) vs %v", k, ua.GetEmails(), ub.GetEmails())
			}
			if !proto.Equal(ua.GetStatus(), ub.GetStatus()) {
				t.Errorf("user %s: trait status %v (attached) vs %v", k, ua.GetStatus(), ub.GetStatus())
			}
			if ua.GetLogin() != ub.GetLogin() || ua.GetAccountType() != ub.GetAccountType() {
				t.Errorf("user %s: login/account type %q/%v (attached) vs %q/%v", k, ua.GetLogin(), ua.GetAccountType(), ub.GetLogin(), ub.GetAccountType())
			}
			if !proto.Equal(ua.GetProfile(), ub.GetProfile()) {
				t.Errorf("user %s: trait profile %v (attached) vs %v", k, ua.GetProfile(), ub.GetProfile())
			}
		}
		rta, errA := rs.GetRoleTrait(ra)
		rtb, errB := rs.GetRoleTrait(rb)
		if (errA == nil) != (errB == nil) {
			t.Errorf("resource %s: role trait in one sync only (%v / %v)", k, errA, errB)
		} else if errA == nil && !proto.Equal(rta.GetProfile(), rtb.GetProfile()) {
			t.Errorf("role %s: profile %v (attached) vs %v", k, rta.GetProfile(), rtb.GetProfile())
		}
	}
	for k := range bRes {
		t.Errorf("resource %s is only in the subprocess sync", k)
	}

	bEnt := map[string]*v2.Entitlement{}
	for _, e := range b.Entitlements {
		bEnt[e.GetId()] = e
	}
	if len(a.Entitlements) != len(b.Entitlements) {
		t.Errorf("attached sync: %d entitlements, subprocess sync: %d", len(a.Entitlements), len(b.Entitlements))
	}
	for _, ea := range a.Entitlements {
		eb, ok := bEnt[ea.GetId()]
		if !ok {
			t.Errorf("entitlement %s is only in the attached sync", ea.GetId())
			continue
		}
		delete(bEnt, ea.GetId())
		if ea.GetDisplayName() != eb.GetDisplayName() || ea.GetPurpose() != eb.GetPurpose() ||
			!proto.Equal(ea.GetResource().GetId(), eb.GetResource().GetId()) ||
			!slices.EqualFunc(ea.GetGrantableTo(), eb.GetGrantableTo(), func(x, y *v2.ResourceType) bool { return x.GetId() == y.GetId() }) {
			t.Errorf("entitlement %s differs:\nattached   %v\nsubprocess %v", ea.GetId(), ea, eb)
		}
	}
	for id := range bEnt {
		t.Errorf("entitlement %s is only in the subprocess sync", id)
	}

	bGrant := map[string]*v2.Grant{}
	for _, g := range b.Grants {
		bGrant[g.GetId()] = g
	}
	if len(a.Grants) != len(b.Grants) {
		t.Errorf("attached sync: %d grants, subprocess sync: %d", len(a.Grants), len(b.Grants))
	}
	for _, ga := range a.Grants {
		gb, ok := bGrant[ga.GetId()]
		if !ok {
			t.Errorf("grant %s is only in the attached sync", ga.GetId())
			continue
		}
		delete(bGrant, ga.GetId())
		if ga.GetEntitlement().GetId() != gb.GetEntitlement().GetId() || !proto.Equal(ga.GetPrincipal().GetId(), gb.GetPrincipal().GetId()) {
			t.Errorf("grant %s differs: %v/%v (attached) vs %v/%v", ga.GetId(),
				ga.GetEntitlement().GetId(), ga.GetPrincipal().GetId(), gb.GetEntitlement().GetId(), gb.GetPrincipal().GetId())
		}
	}
	for id := range bGrant {
		t.Errorf("grant %s is only in the subprocess sync", id)
	}
}

func TestAttachModeProblems(t *testing.T) {
	t.Run("token", func(t *testing.T) {
		t.Parallel()
		tenant, srv := newTenant(t, simulator.Config{Members: 40, Seed: 9})
		tok := scToken()
		_, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "127.0.0.1:0", "--auth-token-file", scWriteToken(t, tok))

		// Without --plugin-token-file: refused, and the output says why.
		noTok := filepath.Join(t.TempDir(), "no-token.c1z")
		r := runHost(t, runOpts{Args: scAttachArgs(base, noTok)}, 60*time.Second)
		if code := r.exitCode(); code == 0 {
			t.Errorf("sync without the sidecar's token exited 0; output:\n%s", tail(r.out.String(), 20))
		}
		_, ok1 := anyLine(r.out.String(), "Unauthenticated")
		_, ok2 := anyLine(r.out.String(), "token")
		if !ok1 && !ok2 {
			t.Errorf("no output line mentions Unauthenticated or the token; output:\n%s", tail(r.out.String(), 20))
		}
		requireNoFinishedSync(t, noTok)

		// With it: the sync works.
		withTok := filepath.Join(t.TempDir(), "token.c1z")
		r = runHost(t, runOpts{Args: scAttachArgs(base, withTok, "--plugin-token-file", scWriteToken(t, tok))}, 120*time.Second)
		if code := r.exitCode(); code != 0 {
			t.Fatalf("sync with --plugin-token-file exited %d; output:\n%s", code, tail(r.out.String(), 30))
		}
		c, err := c1zread.Read(context.Background(), withTok)
		if err != nil {
			t.Fatalf("read %s: %v", withTok, err)
		}
		if got, want := len(c.OfType("user")), len(tenant.Members()); got != want {
			t.Errorf("sync with the token: %d users, want %d", got, want)
		}
		requireNoSecret(t, "the host's output", []byte(r.out.String()), tok)
	})

	t.Run("API key set in the host", func(t *testing.T) {
		t.Parallel()
		_, srv := newTenant(t, simulator.Config{Members: 20})
		_, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "127.0.0.1:0")
		c1z := filepath.Join(t.TempDir(), "out.c1z")
		r := runHost(t, runOpts{Args: scAttachArgs(base, c1z), Key: strPtr(testKey())}, 60*time.Second)
		requireFailure(t, r, "live in the sidecar")
		requireNoFinishedSync(t, c1z)
	})

	t.Run("sidecar not running", func(t *testing.T) {
		t.Parallel()
		addr := "127.0.0.1:" + strconv.Itoa(scFreePort(t))
		c1z := filepath.Join(t.TempDir(), "out.c1z")
		r := runHost(t, runOpts{Args: scAttachArgs("http://"+addr, c1z)}, 30*time.Second)
		requireFailure(t, r, addr)
		requireNoFinishedSync(t, c1z)
	})
}

// --- 6. the example gateway ---
