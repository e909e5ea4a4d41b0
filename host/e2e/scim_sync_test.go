//go:build linux

// The sync with SCIM on: managed members marked, the SCIM token kept out, SCIM outages retried.

package e2e

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// 10. A sync with SCIM configured fetches the roster once, lists SCIM in
// pages of 100 and marks which members SCIM manages.
func TestSCIMSyncMarksManagedMembers(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 200, Seed: 30})
	c, _, _ := syncWith(t, base, scimEnv(base, token))

	if n := tenant.Requests(membersPath); n != 1 {
		t.Errorf("%s requests: %d during one sync, want exactly 1", membersPath, n)
	}
	scimUsers := tenant.SCIMUsers()
	if len(scimUsers) <= 100 {
		t.Fatalf("the tenant has %d SCIM users; this test needs more than one page of 100", len(scimUsers))
	}
	if got, want := tenant.Requests(keySCIMList), (len(scimUsers)+99)/100; got != want {
		t.Errorf("%s requests: %d for %d SCIM users, want %d (pages of 100)", keySCIMList, got, len(scimUsers), want)
	}
	managed := map[string]bool{}
	for _, u := range scimUsers {
		managed[strings.ToLower(u.UserName)] = true
	}
	members := tenant.Members()
	if users := c.OfType("user"); len(users) != len(members) {
		t.Errorf("c1z holds %d users, want %d (every member, no pending account)", len(users), len(members))
	}
	seen := map[bool]int{}
	for _, m := range members {
		id := strings.ToLower(m.Email)
		u := userIn(c, id)
		if u == nil {
			t.Errorf("member %s missing from the c1z", id)
			continue
		}
		requireProfileBool(t, u, "scim_managed", managed[id])
		requireProfileBool(t, u, "pending_first_login", false)
		seen[managed[id]]++
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Errorf("the roster lacks SCIM-managed (%d) or dashboard-only (%d) members", seen[true], seen[false])
	}
	for row, want := range map[int]bool{simulator.RowSCIMActive: true, simulator.RowDashboardOnly: false, simulator.RowSCIMRemoved: true} {
		id := strings.ToLower(members[row].Email)
		if u := userIn(c, id); u != nil {
			requireProfileBool(t, u, "scim_managed", want)
		}
	}
}

// requireNoToken fails if data holds the SCIM token or its last 16 characters.
// requireNoSecretInDir searches every file under dir for the secret.
func requireNoSecretInDir(t *testing.T, dir, token string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil {
			requireNoSecret(t, "the file "+path, b, token)
		}
		return nil
	})
}

// 11. The SCIM token stays out of output, files and the plugin's process.
func TestSCIMTokenStaysOut(t *testing.T) {
	token := scimTestToken()
	wrong := token[:len(token)-1] + "Q"
	if wrong == token {
		wrong = token[:len(token)-1] + "R"
	}
	if len(token) != 53 {
		t.Fatalf("SCIM token has %d chars", len(token))
	}
	cases := []struct {
		name string
		args func(tenant *simulator.Tenant, c1z string) []string
		tok  string
		fail []string // when set: non-zero exit and a line naming all of these
	}{
		{name: "create", tok: token, args: func(_ *simulator.Tenant, _ string) []string {
			return createArgs("secret.keeper@newhire.test", "Secret", "Keeper")
		}},
		{name: "delete", tok: token, args: func(tenant *simulator.Tenant, _ string) []string {
			return deleteArgs(strings.ToLower(tenant.Members()[simulator.RowSCIMActive].Email))
		}},
		{name: "sync", tok: token, args: func(_ *simulator.Tenant, c1z string) []string { return []string{"-f", c1z} }},
		{name: "wrong token", tok: wrong, fail: []string{"cursor-scim-token"}, args: func(_ *simulator.Tenant, _ string) []string {
			return createArgs("secret.keeper@newhire.test", "Secret", "Keeper")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The Admin API answers after a delay, which holds the plugin
			// alive long enough to read its /proc files.
			tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 31, SCIMToken: token,
				Faults: simulator.Faults{Delay: 2 * time.Second}})
			c1z := filepath.Join(t.TempDir(), "out.c1z")
			args := append([]string{"--cursor-base-url", base, "--log-level", "debug"}, tc.args(tenant, c1z)...)
			r := startHost(t, runOpts{Args: args, Key: strPtr(testKey()), Env: scimEnv(base, tc.tok)})

			p := waitForPlugin(t, r, 30*time.Second)
			requireProcessesWithoutSecrets(t, r, p, "BATON_CURSOR_SCIM_TOKEN", token, wrong)

			r.wait(t, 90*time.Second)
			out := r.out.String()
			if len(tc.fail) > 0 {
				requireFailure(t, r, tc.fail...)
			} else {
				requireOK(t, tc.name, r)
			}
			if !strings.Contains(out, `"level":"debug"`) {
				t.Errorf("output has no debug lines; --log-level debug did not take effect")
			}
			for _, s := range []string{token, wrong} {
				requireNoSecret(t, "the debug output", []byte(out), s)
				requireNoSecretInDir(t, r.dir, s)
				requireNoSecretInDir(t, filepath.Dir(c1z), s)
			}
			switch tc.name {
			case "create":
				if n := tenant.Requests(keySCIMCreate); n != 1 {
					t.Errorf("%s requests: %d, want 1 (the token must have been used)", keySCIMCreate, n)
				}
			case "delete":
				if n := tenant.Requests(keySCIMDelete); n != 1 {
					t.Errorf("%s requests: %d, want 1 (the token must have been used)", keySCIMDelete, n)
				}
			case "sync":
				c, err := c1zread.Read(context.Background(), c1z)
				if err != nil {
					t.Fatal(err)
				}
				dump := dumpContents(t, c)
				if !bytes.Contains(dump, []byte("scim_managed")) {
					t.Fatalf("decoded c1z dump holds no scim_managed field; the search below would prove nothing")
				}
				requireNoSecret(t, "the c1z contents", dump, token)
			case "wrong token":
				if n := tenant.Requests(keySCIMCreate); n != 0 {
					t.Errorf("%s requests with a wrong token: %d, want 0", keySCIMCreate, n)
				}
			}
		})
	}
}

// 12. A burst of SCIM 503s during create is retried; one user is created.
func TestCreateAccountRetriesSCIMUnavailable(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	const email = "burst.survivor@newhire.test"

	// The same create without faults, to know how many SCIM requests it makes.
	_, calm := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 32})
	r := runCursor(t, calm, scimEnv(calm, token), createArgs(email, "Burst", "Survivor")...)
	requireOK(t, "create without faults", r)
	baseline := scimRequests(allRequests(t, calm))

	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 32,
		Faults: simulator.Faults{SCIMServerErrors: 2, SCIMRetryAfter: "1"}})
	before := len(tenant.SCIMUsers())
	r = runCursor(t, base, scimEnv(base, token), createArgs(email, "Burst", "Survivor")...)
	requireOK(t, "create during a SCIM 503 burst", r)
	if n := len(scimUsersNamed(tenant, email)); n != 1 {
		t.Errorf("SCIM users named %s: %d, want exactly 1", email, n)
	}
	if n := len(tenant.SCIMUsers()); n != before+1 {
		t.Errorf("SCIM users: %d, want %d (one created)", n, before+1)
	}
	if got := scimRequests(allRequests(t, base)); got != baseline+2 {
		t.Errorf("SCIM requests: %d, want %d (the %d of a calm create, plus the 2 answered 503)", got, baseline+2, baseline)
	}
}
