//go:build linux

package e2e

// Stale truth through the binaries (issue 15.7): the sidecar must never serve
// a roster older than a write it made, nor cache a read cancelled half way as
// the current one. A proxy between the sidecar and the tenant holds one of
// Cursor's answers, so it lands when the test says.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// answerHold forwards to the tenant; once armed for a path, it gets the next
// answer on that path from the tenant at once and hands it on only when
// released (or when the caller gives up): an answer Cursor gave before a
// write, landing after it.
type answerHold struct {
	proxy   *httputil.ReverseProxy
	mu      sync.Mutex
	path    string        // armed for this path; "" when not
	held    chan struct{} // closed when the answer is held
	release chan struct{}
	left    chan struct{} // closed when the caller gave up while held
}

func newAnswerHold(t *testing.T, target string) (*answerHold, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	h := &answerHold{proxy: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

// arm holds the next answer on path.
func (h *answerHold) arm(path string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.path, h.held, h.release, h.left = path, make(chan struct{}), make(chan struct{}), make(chan struct{})
}

func (h *answerHold) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	hold := h.path != "" && r.URL.Path == h.path
	held, release, left := h.held, h.release, h.left
	if hold {
		h.path = ""
	}
	h.mu.Unlock()
	if !hold {
		h.proxy.ServeHTTP(w, r)
		return
	}
	answer := httptest.NewRecorder()
	h.proxy.ServeHTTP(answer, r.WithContext(context.WithoutCancel(r.Context())))
	close(held)
	select {
	case <-release:
	case <-r.Context().Done():
		close(left)
		return
	}
	for k, v := range answer.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(answer.Code)
	_, _ = w.Write(answer.Body.Bytes())
}

// staleTruthSidecar serves a sidecar that may write, in front of a tenant
// with SCIM, through an answerHold. It returns two active SCIM-managed
// members' keys.
func staleTruthSidecar(t *testing.T, seed int64) (*answerHold, *scProc, pluginv1.PluginServiceClient, context.Context, [2]string) {
	t.Helper()
	token := scimTestToken()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 30, Seed: seed})
	managed := map[string]bool{}
	for _, u := range tenant.SCIMUsers() {
		managed[strings.ToLower(u.UserName)] = true
	}
	var picked []string
	for _, m := range tenant.Members() {
		if k := strings.ToLower(m.Email); !m.IsRemoved && managed[k] && len(picked) < 2 {
			picked = append(picked, k)
		}
	}
	if len(picked) < 2 {
		t.Fatalf("the tenant has %d active SCIM-managed members, want 2", len(picked))
	}
	hold, proxied := newAnswerHold(t, base)
	tok := scToken()
	env := append(scSettings(testKey(), proxied), scimEnv(proxied, token)...)
	p, sc := scServe(t, env, "--listen", "127.0.0.1:0", "--auth-token-file", scWriteToken(t, tok), "--allow-provisioning")
	ctx := metadata.AppendToOutgoingContext(scCtx(t), "authorization", "Bearer "+tok)
	return hold, p, pluginv1.NewPluginServiceClient(scGRPC(t, sc)), ctx, [2]string{picked[0], picked[1]}
}

// memberState is how a listing shows key: "active", "removed" or "absent".
func memberState(ms []*pluginv1.Member, key string) string {
	for _, m := range ms {
		if m.GetKey() == key {
			if m.GetRemoved() {
				return "removed"
			}
			return "active"
		}
	}
	return "absent"
}

func TestSidecarServesNoRosterOlderThanItsWrite(t *testing.T) {
	t.Parallel()
	hold, p, svc, ctx, keys := staleTruthSidecar(t, 51)
	first, victim := keys[0], keys[1]
	all := &pluginv1.ListMembersRequest{PageSize: 1000, IncludeRemoved: true}
	// An earlier write, so the next listing reads Cursor again.
	if _, err := svc.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: first}); err != nil {
		t.Fatalf("Deprovision %s: %v", first, err)
	}

	// A listing reads the roster; Cursor's answer (victim active) is held.
	hold.arm(membersPath)
	early := make(chan error, 1)
	go func() {
		_, err := svc.ListMembers(ctx, all)
		early <- err
	}()
	<-hold.held
	// The write, while that answer is on its way.
	if _, err := svc.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: victim}); err != nil {
		t.Fatalf("Deprovision %s: %v", victim, err)
	}
	close(hold.release)
	if err := <-early; err != nil {
		t.Fatalf("the listing begun before the write: %v", err)
	}

	resp, err := svc.ListMembers(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if got := memberState(resp.GetMembers(), victim); got != "removed" {
		t.Errorf("a listing after the delete shows %s %s, want removed (the read begun before the delete was kept);\n%s", victim, got, p.output())
	}
}

func TestSidecarKeepsNoCancelledEnrichment(t *testing.T) {
	t.Parallel()
	hold, p, svc, ctx, keys := staleTruthSidecar(t, 52)
	// An earlier write, so the next listing reads Cursor again.
	if _, err := svc.Deprovision(ctx, &pluginv1.DeprovisionRequest{Email: keys[0]}); err != nil {
		t.Fatalf("Deprovision %s: %v", keys[0], err)
	}
	// The cancelled fetch ends with its enrichment's line, or (enrichment
	// runs beside the roster read since issue 18) with the roster read's or
	// the SCIM listing's failure, when the caller left before those were in.
	ended := func() int {
		out := p.stderr.String()
		return strings.Count(out, "read member activity from Cursor") +
			strings.Count(out, "fetching the Cursor roster failed") + strings.Count(out, "listing Cursor's SCIM users failed")
	}
	before := ended()

	// A listing whose caller leaves while daily usage is on its way.
	hold.arm("/teams/daily-usage-data")
	short, cancel := context.WithCancel(ctx)
	left := make(chan error, 1)
	go func() {
		_, err := svc.ListMembers(short, &pluginv1.ListMembersRequest{PageSize: 1000})
		left <- err
	}()
	<-hold.held
	cancel()
	if err := <-left; status.Code(err) != codes.Canceled {
		t.Fatalf("the listing whose caller left: %v, want Canceled", err)
	}
	<-hold.left // the sidecar gave up the request too
	for deadline := time.Now().Add(30 * time.Second); ended() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled fetch never ended;\n%s", p.output())
		}
	}

	resp, err := svc.ListMembers(ctx, &pluginv1.ListMembersRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range resp.GetMembers() {
		if !m.GetActivity().GetUsageKnown() {
			t.Fatalf("%s: usage unknown in the listing after the cancelled one (%v): the cancelled read was kept;\n%s",
				m.GetKey(), m.GetActivity(), p.output())
		}
	}
}
