//go:build linux

// End-to-end tests of service mode: the real baton-cursor, with
// BATON_CLIENT_ID and BATON_CLIENT_SECRET, polling the simulated C1 control
// plane (internal/c1sim) for tasks and running them against the simulated
// Cursor tenant.
package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/conductorone/baton-cursor/internal/c1sim"
	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// service is one baton-cursor running in service mode against a c1sim.
type service struct {
	c1   *c1sim.Server
	host *hostRun
}

// serviceOpts says how to start the service.
type serviceOpts struct {
	Base   string   // the tenant's base URL
	Env    []string // extra environment (SCIM, BATON_PROVISIONING, BATON_HOST_ID, ...)
	Secret string   // BATON_CLIENT_SECRET; "" = the one c1sim accepts
}

// startService starts c1sim and baton-cursor in service mode against it.
func startService(t *testing.T, o serviceOpts) *service {
	t.Helper()
	c1, err := c1sim.Start(t.TempDir())
	if err != nil {
		t.Fatalf("c1sim.Start: %v", err)
	}
	t.Cleanup(c1.Close)
	env := append(c1.Env(), "BATON_CURSOR_BASE_URL="+o.Base)
	if o.Secret != "" {
		env = append(env, "BATON_CLIENT_SECRET="+o.Secret)
	}
	env = append(env, o.Env...)
	r := startHost(t, runOpts{Key: strPtr(testKey()), Env: env})
	return &service{c1: c1, host: r}
}

// outcome waits for the task's FinishTask, failing the test (with the
// host's output) if it does not come within limit.
func (s *service) outcome(t *testing.T, id string, limit time.Duration) c1sim.Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	go func() {
		// A host that exits will never finish the task: stop waiting.
		select {
		case <-s.host.done:
			time.Sleep(500 * time.Millisecond)
			cancel()
		case <-ctx.Done():
		}
	}()
	out, err := s.c1.WaitOutcome(ctx, id)
	if err != nil {
		t.Fatalf("task %s: %v (host exited: %v, code %d); output:\n%s", id, err,
			isDone(s.host), s.host.exitCode(), tail(s.host.out.String(), 40))
	}
	return out
}

func isDone(r *hostRun) bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// syncTask runs one sync task to success and reads the uploaded c1z.
func (s *service) syncTask(t *testing.T) *c1zread.Contents {
	t.Helper()
	id := s.c1.EnqueueSync()
	out := s.outcome(t, id, 120*time.Second)
	if !out.Success {
		t.Fatalf("sync task %s failed: %v %q (non-retryable %v); output:\n%s", id, out.Code, out.Message,
			out.NonRetryable, tail(s.host.out.String(), 30))
	}
	ups := s.c1.Uploads(id)
	if len(ups) != 1 {
		t.Fatalf("sync task %s: %d uploads, want 1", id, len(ups))
	}
	c, err := c1zread.Read(context.Background(), ups[0].Path)
	if err != nil {
		t.Fatalf("read the uploaded c1z: %v", err)
	}
	return c
}

// provisioningEnv turns SCIM and baton's provisioning switch on.
func provisioningEnv(base string) []string {
	return scimEnv(base, scimTestToken(), "BATON_PROVISIONING=true")
}

// A sync task uploads a c1z that matches the tenant, and C1 hears the
// connector's BATON_HOST_ID on every call that carries one.
func TestServiceSyncTaskUploadsTheTenant(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 200, Seed: 31})
	s := startService(t, serviceOpts{Base: srv.URL, Env: []string{"BATON_HOST_ID=cursor-pod-7"}})

	c := s.syncTask(t)
	checkSyncMatchesTenant(t, tenant.Members(), c)
	if n := tenant.Requests(membersPath); n != 1 {
		t.Errorf("%s requested %d times for one sync task, want 1", membersPath, n)
	}

	hellos := s.c1.Hellos()
	if len(hellos) != 1 || hellos[0].HostID != "cursor-pod-7" {
		t.Errorf("hellos %+v; want exactly one, from host cursor-pod-7", hellos)
	}
	for _, h := range s.c1.Heartbeats("") {
		if h.HostID != "cursor-pod-7" {
			t.Errorf("heartbeat from host %q, want cursor-pod-7", h.HostID)
		}
	}
	for _, u := range s.c1.Uploads("") {
		if u.HostID != "cursor-pod-7" {
			t.Errorf("upload from host %q, want cursor-pod-7", u.HostID)
		}
	}
	for _, o := range s.c1.Outcomes() {
		if o.HostID != "cursor-pod-7" {
			t.Errorf("outcome from host %q, want cursor-pod-7", o.HostID)
		}
	}
	if len(s.c1.Heartbeats("")) == 0 {
		t.Error("no heartbeat during the sync task")
	}
}

// create_account makes the SCIM user, and C1 receives the action-required
// result (the person must sign in once).
func TestServiceCreateAccount(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 32})
	s := startService(t, serviceOpts{Base: base, Env: provisioningEnv(base)})

	const email = "newhire@example.com"
	profile, _ := structpb.NewStruct(map[string]any{"email": email, "given_name": "New", "family_name": "Hire"})
	id := s.c1.EnqueueCreateAccount(v2.AccountInfo_builder{Login: email, Profile: profile}.Build())
	out := s.outcome(t, id, 90*time.Second)
	if !out.Success {
		t.Fatalf("create_account failed: %v %q; output:\n%s", out.Code, out.Message, tail(s.host.out.String(), 30))
	}
	var resp v2.CreateAccountResponse
	if err := out.Response.UnmarshalTo(&resp); err != nil {
		t.Fatalf("the success response is not a CreateAccountResponse: %v (%s)", err, out.Response.GetTypeUrl())
	}
	ar := resp.GetActionRequired()
	if ar == nil {
		t.Fatalf("C1 received %v, want the action-required result", &resp)
	}
	if got := ar.GetResource().GetId().GetResource(); got != email {
		t.Errorf("the result names user %q, want %q", got, email)
	}
	if !strings.Contains(strings.ToLower(ar.GetMessage()), "sign") && !strings.Contains(strings.ToLower(ar.GetMessage()), "log") {
		t.Errorf("the action-required message %q does not say the person must sign in", ar.GetMessage())
	}
	if users := scimUsersNamed(tenant, email); len(users) != 1 {
		t.Errorf("SCIM users named %s: %d, want 1", email, len(users))
	}
}

// delete_resource of a SCIM member succeeds, and the next sync task shows
// them removed; of a dashboard member it fails non-retryable saying what to do.
func TestServiceDeleteResource(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 33})
	s := startService(t, serviceOpts{Base: base, Env: provisioningEnv(base)})

	scimID := strings.ToLower(tenant.Members()[simulator.RowSCIMActive].Email)
	out := s.outcome(t, s.c1.EnqueueDelete("user", scimID), 90*time.Second)
	if !out.Success {
		t.Fatalf("delete of SCIM member %s failed: %v %q", scimID, out.Code, out.Message)
	}
	if n := tenant.Requests(keySCIMDelete); n != 1 {
		t.Errorf("%s requests: %d, want 1", keySCIMDelete, n)
	}
	c := s.syncTask(t)
	u := userIn(c, scimID)
	if u == nil {
		t.Fatalf("the sync task after the delete has no user %s", scimID)
	}
	if st := u.GetStatus().GetStatus(); st != v2.Status_RESOURCE_STATUS_DISABLED {
		t.Errorf("deleted user %s: status %v, want DISABLED", scimID, st)
	}
	if g := grantsTo(c, scimID); len(g) != 0 {
		t.Errorf("deleted user %s still has grants %v", scimID, g)
	}

	dashID := strings.ToLower(tenant.Members()[simulator.RowDashboardOnly].Email)
	out = s.outcome(t, s.c1.EnqueueDelete("user", dashID), 90*time.Second)
	if out.Success || !out.NonRetryable {
		t.Fatalf("delete of dashboard member: %+v; want a non-retryable failure", out)
	}
	if out.Code != codes.FailedPrecondition {
		t.Errorf("delete of dashboard member: code %v, want FailedPrecondition", out.Code)
	}
	for _, part := range []string{dashID, "added in the Cursor dashboard", "cursor-remove-unmanaged"} {
		if !strings.Contains(out.Message, part) {
			t.Errorf("the failure message does not name %q: %q", part, out.Message)
		}
	}
	if tenant.Members()[simulator.RowDashboardOnly].IsRemoved {
		t.Error("the dashboard member was removed")
	}
}

// Without BATON_PROVISIONING, provisioning tasks fail and say which setting
// turns them on; nothing is sent to SCIM.
func TestServiceProvisioningOff(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 34})
	s := startService(t, serviceOpts{Base: base, Env: scimEnv(base, scimTestToken())})

	profile, _ := structpb.NewStruct(map[string]any{"email": "nobody@example.com"})
	for name, id := range map[string]string{
		"create_account":  s.c1.EnqueueCreateAccount(v2.AccountInfo_builder{Login: "nobody@example.com", Profile: profile}.Build()),
		"delete_resource": s.c1.EnqueueDelete("user", strings.ToLower(tenant.Members()[simulator.RowSCIMActive].Email)),
	} {
		out := s.outcome(t, id, 90*time.Second)
		if out.Success || !out.NonRetryable {
			t.Errorf("%s without BATON_PROVISIONING: %+v; want a non-retryable failure", name, out)
		}
		if !strings.Contains(out.Message, "BATON_PROVISIONING") {
			t.Errorf("%s without BATON_PROVISIONING: the message %q does not name BATON_PROVISIONING", name, out.Message)
		}
	}
	if n := scimRequests(allRequests(t, base)); n != 0 {
		t.Errorf("%d SCIM requests with provisioning off, want 0", n)
	}
}

// A client secret C1 does not accept ends the process, non-zero, with one
// line naming BATON_CLIENT_SECRET, instead of retrying for ever; a client id
// that is not one, likewise naming BATON_CLIENT_ID.
func TestServiceWrongClientSecret(t *testing.T) {
	t.Parallel()
	_, srv := newTenant(t, simulator.Config{Members: 5, Seed: 35})
	wrong, _, err := c1sim.NewClientSecret()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		secret string
		env    []string
		code   codes.Code
		names  string
	}{
		"another key":     {wrong, nil, codes.Unauthenticated, "BATON_CLIENT_SECRET"},
		"not a secret":    {"hunter2-not-a-client-secret", nil, codes.InvalidArgument, "BATON_CLIENT_SECRET"},
		"not a client id": {"", []string{"BATON_CLIENT_ID=just-a-name"}, codes.InvalidArgument, "BATON_CLIENT_ID"},
	} {
		t.Run(name, func(t *testing.T) {
			secret := tc.secret
			s := startService(t, serviceOpts{Base: srv.URL, Secret: secret, Env: tc.env})
			if secret == "" {
				secret = s.c1.ClientSecret()
			}
			s.host.wait(t, 60*time.Second)
			requireLastLine(t, "service with wrong client credentials", s.host, tc.names)
			if got := s.host.exitCode(); got != int(tc.code) {
				t.Errorf("exit code %d, want %d (%v)", got, tc.code, tc.code)
			}
			if strings.Contains(s.host.out.String(), secret) {
				t.Error("the client secret appears in the output")
			}
			if n := len(s.c1.Hellos()); n != 0 {
				t.Errorf("%d hellos got through with a wrong secret", n)
			}
		})
	}
}

// The client secret (and the API key) stay out of the plugin's command line
// and environment, the debug output and the uploaded c1z.
func TestServiceSecretsStayOut(t *testing.T) {
	t.Parallel()
	_, srv := newTenant(t, simulator.Config{Members: 30, Seed: 36,
		Faults: simulator.Faults{Delay: 2 * time.Second, DelayedRequests: 1}})
	s := startService(t, serviceOpts{Base: srv.URL, Env: []string{"BATON_LOG_LEVEL=debug"}})
	secret := s.c1.ClientSecret()

	id := s.c1.EnqueueSync()
	p := s.waitRunning(t, id) // the first Cursor request is held for 2 s
	requireProcessesWithoutSecrets(t, s.host, p, "BATON_CLIENT_SECRET", secret, testKey())
	if out := s.outcome(t, id, 90*time.Second); !out.Success {
		t.Fatalf("sync task failed: %v %q", out.Code, out.Message)
	}
	out := []byte(s.host.out.String())
	if !strings.Contains(string(out), `"level":"debug"`) {
		t.Errorf("no debug lines; BATON_LOG_LEVEL=debug did not take effect")
	}
	requireNoSecret(t, "the debug output", out, secret)
	requireNoSecret(t, "the debug output", out, testKey())
	for _, u := range s.c1.Uploads(id) {
		raw, err := os.ReadFile(u.Path)
		if err != nil {
			t.Fatal(err)
		}
		requireNoSecret(t, "the uploaded c1z", raw, secret)
		requireNoSecret(t, "the uploaded c1z", raw, testKey())
	}
}
