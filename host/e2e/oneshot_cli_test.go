//go:build linux

package e2e

// The one-shot command line says what it does and does what it says:
// every action flag either works or is refused in one line (never a silent
// sync), the last line says what the run did, and --http-timeout-seconds
// means the number given (README "Create and remove accounts", "Run it").

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// requireNoC1Z checks that a run wrote no c1z into its working directory
// (where a sync without -f would write sync.c1z).
func requireNoC1Z(t *testing.T, what string, r *hostRun) {
	t.Helper()
	if m, _ := filepath.Glob(filepath.Join(r.dir, "*.c1z")); len(m) > 0 {
		t.Errorf("%s wrote %v: it ran a sync", what, m)
	}
}

// lastMsg is the last output line's log message (the line itself when it
// is not a JSON log line).
func lastMsg(out string) string {
	line := lastLine(out)
	var l struct {
		Msg string `json:"msg"`
	}
	if json.Unmarshal([]byte(line), &l) == nil && l.Msg != "" {
		return l.Msg
	}
	return line
}

// TestCreateWithTheEmailAloneThenDeleteWithoutAType: for Cursor the login is
// the email, so --create-account-email alone creates the account (before: a
// full sync, exit 0, nothing created), and --delete-resource alone deletes
// the member (before: "unknown provisioning action"). Each run's last line
// says what was done; neither writes a c1z.
func TestCreateWithTheEmailAloneThenDeleteWithoutAType(t *testing.T) {
	t.Parallel()
	const email = "dana.alone@example.com"
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 30, Seed: 71})
	env := scimEnv(base, scimTestToken())

	r := runCursor(t, base, env, "--create-account-email", email)
	requireOK(t, "create with the email alone", r)
	requireNoC1Z(t, "create with the email alone", r)
	if n := tenant.Requests(keySCIMCreate); n != 1 {
		t.Errorf("%s requests: %d, want 1", keySCIMCreate, n)
	}
	if got, want := lastMsg(r.out.String()), "created the Cursor account for "+email+" through SCIM"; !strings.HasPrefix(got, want) {
		t.Errorf("last line %q, want it to start %q", got, want)
	}

	r = runCursor(t, base, env, "--delete-resource", email)
	requireOK(t, "delete without a type", r)
	requireNoC1Z(t, "delete without a type", r)
	if n := tenant.Requests(keySCIMDelete); n != 1 {
		t.Errorf("%s requests: %d, want 1", keySCIMDelete, n)
	}
	if got, want := lastMsg(r.out.String()), "deleted the SCIM user "+email; !strings.HasPrefix(got, want) {
		t.Errorf("last line %q, want it to start %q", got, want)
	}
}

// TestActionFlagsNeverTurnIntoASync: a flag that belongs to an action given
// without it, two actions at once, a login that is not the email, or an
// action baton-cursor does not do: each is refused with one line naming the
// flag, exit non-zero, before any request to Cursor, and no c1z is written.
// Before, the companion flags alone ran a full sync and exited 0.
func TestActionFlagsNeverTurnIntoASync(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string // in the one line
	}{
		{[]string{"--delete-resource-type", "user"}, "--delete-resource-type only goes with --delete-resource"},
		{[]string{"--create-account-resource-type", "user"}, "--create-account-resource-type only goes with --create-account-email"},
		{[]string{"--event-feed-id", "cursor_audit_log"}, "--event-feed-id only goes with --event-feed"},
		{[]string{"--grant-principal-type", "user"}, "--grant-principal-type only goes with --grant-entitlement"},
		{[]string{"--rotate-credentials-type", "user"}, "--rotate-credentials-type only goes with --rotate-credentials"},
		{[]string{"--invoke-action-args", "{}"}, "--invoke-action-args only goes with --invoke-action"},
		{[]string{"--create-account-email", "a@example.com", "--delete-resource", "b@example.com"}, "two actions"},
		{[]string{"--create-account-login", "dana", "--create-account-email", "dana@example.com"}, "for Cursor the login is the email"},
		{[]string{"--rotate-credentials", "x@example.com"}, "--rotate-credentials is not supported"},
		{[]string{"--list-resource-actions", "user"}, "--list-resource-actions is not supported"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			_, base := newSCIMTenant(t, simulator.Config{Members: 10, Seed: 72})
			r := runCursor(t, base, scimEnv(base, scimTestToken()), tc.args...)
			requireLastLine(t, "the refused run", r, tc.want)
			if lines := strings.Split(strings.TrimSpace(r.out.String()), "\n"); len(lines) != 1 {
				t.Errorf("%d output lines, want the one refusal:\n%s", len(lines), tail(r.out.String(), 20))
			}
			requireNoC1Z(t, "the refused run", r)
			fxRequireNoRequests(t, base)
		})
	}
}

// TestSyncEndsWithWhatItWrote: a sync's last line names the file and
// counts what it holds, read back from the c1z: users, roles, the team,
// grants, and how many users' logins, usage or spend are unknown (here the
// key lacks the activity scope: all three for every user). Before, the last
// line was go-plugin's "plugin process exited".
func TestSyncEndsWithWhatItWrote(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 40, Seed: 73,
		ActivityFaults: simulator.ActivityFaults{Forbidden: true}})
	r, c1z := fxSync(t, srv.URL, 90*time.Second)
	fxRequireExit(t, r, 0)
	c := fxRead(t, c1z)
	byType := map[string]int{}
	unknown := map[string]int{}
	for _, res := range c.Resources {
		byType[res.GetId().GetResourceType()]++
		for _, k := range []string{"logins_unknown", "spend_unknown", "usage_unknown"} {
			if res.GetProfile().GetFields()[k].GetBoolValue() {
				unknown[k]++
			}
		}
	}
	if byType["user"] != len(tenant.Members()) || unknown["logins_unknown"] != byType["user"] {
		t.Fatalf("the c1z holds %v resources and %v unknown for %d members: not the case this test sets up", byType, unknown, len(tenant.Members()))
	}
	want := fmt.Sprintf("wrote %s: %d users, %d roles, 1 team, %d grants; unknown: logins for %d users, spend for %d users, usage for %d users",
		c1z, byType["user"], byType["role"], len(c.Grants), unknown["logins_unknown"], unknown["spend_unknown"], unknown["usage_unknown"])
	if got := lastMsg(r.out.String()); got != want {
		t.Errorf("last line\n%q, want\n%q", got, want)
	}
	fxRequireNoLine(t, "a successful sync", r, `"level":"info"`, "plugin process exited")
}

// TestHTTPTimeoutHasOneDefault: `config`, `--help` and the run agree on
// --http-timeout-seconds: 60 unless set (before: both said 300 while a run
// used 60). That 300 then means 300 is TestRequestTimeoutAboveAMinute's.
func TestHTTPTimeoutHasOneDefault(t *testing.T) {
	t.Parallel()
	r := runHost(t, runOpts{Args: []string{"config"}}, 30*time.Second)
	fxRequireExit(t, r, 0)
	var schema struct {
		Fields []struct {
			Name     string `json:"name"`
			IntField struct {
				DefaultValue string `json:"defaultValue"`
			} `json:"intField"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(r.out.String()), &schema); err != nil {
		t.Fatalf("config output is not JSON: %v", err)
	}
	found := false
	for _, f := range schema.Fields {
		if f.Name == "http-timeout-seconds" {
			found = true
			if f.IntField.DefaultValue != "60" {
				t.Errorf("config: http-timeout-seconds default %q, want 60", f.IntField.DefaultValue)
			}
		}
	}
	if !found {
		t.Errorf("config does not list http-timeout-seconds")
	}
	r = runHost(t, runOpts{Args: []string{"--help"}}, 30*time.Second)
	if line, ok := anyLine(r.out.String(), "--http-timeout-seconds"); !ok || !strings.Contains(line, "(default 60)") {
		t.Errorf("--help line %q, want it to say (default 60)", line)
	}
}
