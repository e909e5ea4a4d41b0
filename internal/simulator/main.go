package simulator

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const (
	// DefaultAPIKey is accepted when APIKeyEnv is unset. It is public, which
	// is why Main only listens on loopback.
	DefaultAPIKey = "crsr_simulated-demo-key"
	// APIKeyEnv names the variable Main reads the key from; keys never go in argv.
	APIKeyEnv = "CURSOR_SIMULATOR_API_KEY"
	// DefaultSCIMToken is the SCIM bearer token when SCIMTokenEnv is unset.
	DefaultSCIMToken = "scim_simulated-demo-token"
	// OrgKeyEnv names the variable Main reads the Organization API key from
	// (with --org-members); DefaultOrgKey is used when it is unset.
	OrgKeyEnv     = "CURSOR_SIMULATOR_ORG_KEY"
	DefaultOrgKey = "crsr_simulated-org-demo-key"
	// SCIMTokenEnv names the variable Main reads the SCIM token from (with --scim).
	SCIMTokenEnv = "CURSOR_SIMULATOR_SCIM_TOKEN"
)

const usageText = `Usage: cursor-simulator [flags]

Serves a simulated Cursor team Admin API (GET /teams/members, POST
/teams/remove-member, GET /teams/audit-logs, POST /teams/daily-usage-data,
POST /teams/spend) on a loopback address, deterministic from --seed.
Prints the base URL as the only line on stdout, then serves until interrupted.

The API key is read from $%s (default %q).
Clients send it as the Basic auth username with an empty password
(curl -u KEY:) or as a Bearer token.
GET /_simulator/requests (no auth) returns request counts per path (per
method and resource under /scim/v2).

With --scim, SCIM 2.0 /Users is served under <base>/scim/v2 with the bearer
token from $%s (default %q). SCIM-created users join the team
after their first login: POST /_simulator/first-login?userName=EMAIL (no auth)
simulates it, or pass --auto-first-login.

Flags:
`

// Main runs the cursor-simulator command until ctx is cancelled or the process
// receives SIGINT/SIGTERM.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cursor-simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usageText, APIKeyEnv, DefaultAPIKey, SCIMTokenEnv, DefaultSCIMToken)
		fs.PrintDefaults()
	}
	var (
		cfg    Config
		listen string
		style  string
		scim   bool
	)
	fs.StringVar(&listen, "listen", "127.0.0.1:0", "loopback `address` to listen on (port 0 picks a free port)")
	fs.IntVar(&cfg.Members, "members", 200, "team size, 0..1000000")
	fs.Int64Var(&cfg.Seed, "seed", 1, "data seed; the same seed and size give byte-identical responses")
	fs.StringVar(&style, "id-style", string(IDStyleString), "member id type: string (user_…), number, mixed, or public-id (a numeric-string id beside a user_… publicId)")
	fs.IntVar(&cfg.OrgAdmins, "org-admins", 0, "the last `N` members are organization admins, role \""+OrgAdminRole+"\"")
	fs.IntVar(&cfg.MembersPageSize, "members-page-size", 0, "page GET /teams/members (page, pageSize; a pagination object) at most `N` a page, as Cursor's own client reads it (0 = one answer, as documented)")
	fs.IntVar(&cfg.Faults.RosterChangesBetweenPages, "roster-changes-between-pages", 0, "with --members-page-size: the next `N` answers for a page after the first add a member first; -1 = every one")
	fs.BoolVar(&cfg.BusinessPlan, "business-plan", false, `answer every Admin API call 403 "Enterprise access required"`)
	fs.BoolVar(&cfg.OmitRemoved, "omit-removed", false, "leave removed members out instead of isRemoved:true")
	fs.BoolVar(&cfg.LongEmails, "long-emails", false, "make every email 254 characters long, RFC 5321's longest")
	fs.IntVar(&cfg.Faults.RateLimited, "rate-limited", 0, "answer the first `N` Admin API requests 429")
	fs.StringVar(&cfg.Faults.RetryAfter, "retry-after", "", "Retry-After header `value` on 429s, e.g. 60 (empty = none)")
	fs.IntVar(&cfg.Faults.ServerErrors, "server-errors", 0, "then answer the next `N` requests 503; -1 = answer 500 forever")
	fs.StringVar(&cfg.Faults.ServerRetryAfter, "server-retry-after", "", "Retry-After header `value` on 5xx answers (empty = none)")
	fs.DurationVar(&cfg.Faults.Delay, "delay", 0, "wait this `duration` before answering, e.g. 2s")
	fs.DurationVar(&cfg.Faults.Latency, "latency", 0, "every Admin API and SCIM request waits this `duration` before its answer, e.g. 100ms (unlike --delay: always, and SCIM too)")
	fs.IntVar(&cfg.Faults.DelayedRequests, "delayed-requests", 0, "with --delay: only the first `N` requests are slow (0 = all)")
	fs.BoolVar(&cfg.Faults.Truncate, "truncate", false, "send 200s whose body is cut in half")
	fs.BoolVar(&cfg.Faults.InvalidJSON, "invalid-json", false, "send 200s whose body is not JSON")
	fs.IntVar(&cfg.Faults.MalformedRequests, "malformed-requests", 0, "with --truncate or --invalid-json: only the first `N` member answers are malformed (0 = all)")
	fs.BoolVar(&scim, "scim", false, "serve SCIM 2.0 at <base>/scim/v2 (token from $"+SCIMTokenEnv+")")
	fs.BoolVar(&cfg.AutoFirstLogin, "auto-first-login", false, "a SCIM create adds the team member at once, not at first login")
	fs.Func("scim-duplicate", "hold two SCIM users for `EMAIL`, differing only in letter case (repeatable)", func(v string) error {
		cfg.SCIMDuplicateUserNames = append(cfg.SCIMDuplicateUserNames, v)
		return nil
	})
	fs.BoolVar(&cfg.SCIMCaseSensitiveUserName, "scim-case-sensitive", false, "compare SCIM userName letter case exactly (filter and uniqueness), as real servers do")
	fs.IntVar(&cfg.SCIMMaxResults, "scim-max-results", 0, "the most users one SCIM list page holds; a larger count is lowered to it (0 = 100)")
	fs.IntVar(&cfg.Faults.SCIMServerErrors, "scim-server-errors", 0, "answer the first `N` SCIM requests 503; -1 = forever")
	fs.StringVar(&cfg.Faults.SCIMRetryAfter, "scim-retry-after", "", "Retry-After header `value` on SCIM 503s (empty = none)")
	fs.IntVar(&cfg.Faults.SCIMSearchMisses, "scim-search-misses", 0, "answer the first `N` SCIM searches by userName with an empty list; -1 = every one")
	fs.IntVar(&cfg.Faults.SCIMConcurrentDeletes, "scim-concurrent-deletes", 0, "the first `N` SCIM DELETEs of an existing user delete it but answer 404, as if someone else was first")
	fs.IntVar(&cfg.RateLimitPerMinute, "rate-limit-per-minute", 0, "answer 429 past `N` Admin API requests in a clock minute, all routes together (Cursor: 20; 0 = no limit)")
	fs.BoolVar(&cfg.ActivityFaults.Forbidden, "activity-forbidden", false, "answer 403 on the audit log, daily usage and spend routes (a key without their scope)")
	fs.IntVar(&cfg.ActivityFaults.ServerErrors, "activity-server-errors", 0, "answer the next `N` activity requests 503; -1 = 500 forever")
	fs.IntVar(&cfg.Org.People, "org-members", 0, "serve a simulated organization of `N` people (0..100000) at /organizations/* with the key from $"+OrgKeyEnv+", plus the team's /teams/directory-groups and /teams/groups (0 = none)")
	fs.IntVar(&cfg.Org.Teams, "org-teams", 0, "with --org-members: the organization's teams, 2..50 (0 = 4)")
	fs.IntVar(&cfg.Org.RateLimit, "org-rate-limit", 0, "with --org-members: 429 past `N` organization requests a minute per key (0 = 20, Cursor's; -1 = none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if err := checkLoopback(listen); err != nil {
		return err
	}
	cfg.IDStyle = IDStyle(style)

	keySource := "$" + APIKeyEnv
	cfg.APIKey = os.Getenv(APIKeyEnv)
	if cfg.APIKey == "" {
		cfg.APIKey = DefaultAPIKey
		keySource = fmt.Sprintf("the default demo key %q ($%s is unset)", DefaultAPIKey, APIKeyEnv)
	}
	tokenSource := "$" + SCIMTokenEnv
	if scim {
		cfg.SCIMToken = os.Getenv(SCIMTokenEnv)
		if cfg.SCIMToken == "" {
			cfg.SCIMToken = DefaultSCIMToken
			tokenSource = fmt.Sprintf("the default demo token ($%s is unset)", SCIMTokenEnv)
		}
	}

	if cfg.Org.People > 0 {
		cfg.Org.APIKey = cmp.Or(os.Getenv(OrgKeyEnv), DefaultOrgKey)
	}
	tenant, err := New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	// "localhost" could resolve to something odd; check what we really got.
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("%s is not a loopback address", ln.Addr())
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: tenant, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	fmt.Fprintln(stdout, base)
	scimState := "SCIM off"
	if scim {
		scimState = fmt.Sprintf("SCIM at %s%s, token from %s", base, pathSCIM, tokenSource)
	}
	fmt.Fprintf(stderr, "cursor simulator: %d members, seed %d, id style %s; API key from %s; %s\n",
		cfg.Members, cfg.Seed, tenant.gen.style, keySource, scimState)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Give in-flight requests a moment; Close then ends delayed ones.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// checkLoopback refuses addresses other machines could reach: the simulator
// accepts a published demo key.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to listen on %q: only loopback addresses (127.0.0.1, ::1, localhost) are allowed", addr)
}

// RequestCounts asks a simulated tenant running at baseURL (for example a
// cursor-simulator subprocess) how many requests reached each path, as
// Tenant.Requests counts them.
func RequestCounts(baseURL string) (map[string]int, error) {
	resp, err := http.Get(baseURL + "/_simulator/requests")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var counts map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		return nil, fmt.Errorf("request counts from %s: %w", baseURL, err)
	}
	return counts, nil
}
