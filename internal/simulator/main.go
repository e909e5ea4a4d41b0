package simulator

import (
	"context"
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
)

const usageText = `Usage: baton-cursor-plugin simulate [flags]

Serves a simulated Cursor team Admin API (GET /teams/members) on a loopback
address, deterministic from --seed. Prints the base URL as the only line on
stdout, then serves until interrupted.

The API key is read from $%s (default %q).
Clients send it as the Basic auth username with an empty password
(curl -u KEY:) or as a Bearer token.
GET /_simulator/requests (no auth) returns request counts per path.

Flags:
`

// Main runs the simulate subcommand until ctx is cancelled or the process
// receives SIGINT/SIGTERM.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usageText, APIKeyEnv, DefaultAPIKey)
		fs.PrintDefaults()
	}
	var (
		cfg    Config
		listen string
		style  string
	)
	fs.StringVar(&listen, "listen", "127.0.0.1:0", "loopback `address` to listen on (port 0 picks a free port)")
	fs.IntVar(&cfg.Members, "members", 200, "team size, 0..1000000")
	fs.Int64Var(&cfg.Seed, "seed", 1, "data seed; the same seed and size give byte-identical responses")
	fs.StringVar(&style, "id-style", string(IDStyleString), "member id type: string (user_…), number, or mixed")
	fs.BoolVar(&cfg.BusinessPlan, "business-plan", false, `answer every Admin API call 403 "Enterprise access required"`)
	fs.BoolVar(&cfg.OmitRemoved, "omit-removed", false, "leave removed members out instead of isRemoved:true")
	fs.IntVar(&cfg.Faults.RateLimited, "rate-limited", 0, "answer the first `N` Admin API requests 429")
	fs.StringVar(&cfg.Faults.RetryAfter, "retry-after", "", "Retry-After header `value` on 429s, e.g. 60 (empty = none)")
	fs.IntVar(&cfg.Faults.ServerErrors, "server-errors", 0, "then answer the next `N` requests 503; -1 = answer 500 forever")
	fs.StringVar(&cfg.Faults.ServerRetryAfter, "server-retry-after", "", "Retry-After header `value` on 5xx answers (empty = none)")
	fs.DurationVar(&cfg.Faults.Delay, "delay", 0, "wait this `duration` before answering, e.g. 2s")
	fs.BoolVar(&cfg.Faults.Truncate, "truncate", false, "send 200s whose body is cut in half")
	fs.BoolVar(&cfg.Faults.InvalidJSON, "invalid-json", false, "send 200s whose body is not JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("simulate: unexpected argument %q (see -h)", fs.Arg(0))
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

	tenant, err := New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	// "localhost" could resolve to something odd; check what we really got.
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("simulate: %s is not a loopback address", ln.Addr())
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: tenant, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintln(stdout, "http://"+ln.Addr().String())
	fmt.Fprintf(stderr, "cursor simulator: %d members, seed %d, id style %s; API key from %s\n",
		cfg.Members, cfg.Seed, tenant.gen.style, keySource)

	select {
	case err := <-served:
		return fmt.Errorf("simulate: %w", err)
	case <-ctx.Done():
	}
	// Give in-flight requests a moment; Close then ends delayed ones.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("simulate: %w", err)
	}
	return nil
}

// checkLoopback refuses addresses other machines could reach: the simulator
// accepts a published demo key.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("simulate: --listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("simulate: refusing to listen on %q: only loopback addresses (127.0.0.1, ::1, localhost) are allowed", addr)
}
