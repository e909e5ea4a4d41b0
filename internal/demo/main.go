// Command demo is `make demo`: it starts the simulated Cursor tenant on
// loopback, runs a one-shot sync through baton-cursor and its plugin
// subprocess into a c1z file, reads the file back and prints what it found.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	bin := flag.String("bin", "bin", "folder holding baton-cursor, baton-cursor-plugin and cursor-simulator")
	members := flag.Int("members", 1000, "size of the simulated Cursor team")
	out := flag.String("out", "sync.c1z", "c1z file to write")
	flag.Parse()
	ctx := context.Background()

	// The simulated tenant, from its own binary, as a person would run it.
	sim := exec.CommandContext(ctx, filepath.Join(*bin, "cursor-simulator"), "--members", strconv.Itoa(*members))
	sim.Env = append(os.Environ(), simulator.APIKeyEnv+"="+simulator.DefaultAPIKey)
	simOut, err := sim.StdoutPipe()
	if err != nil {
		return err
	}
	var simErr bytes.Buffer
	sim.Stderr = &simErr
	if err := sim.Start(); err != nil {
		return fmt.Errorf("start the simulated tenant: %w (run `make build simulator` first)", err)
	}
	defer func() { _ = sim.Process.Kill(); _ = sim.Wait() }()
	baseURL, err := bufio.NewReader(simOut).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the simulated tenant did not start: %s", strings.TrimSpace(simErr.String()))
	}
	baseURL = strings.TrimSpace(baseURL)

	// The sync, exactly as a person runs it against a real team.
	_ = os.Remove(*out)
	var log bytes.Buffer
	sync := exec.CommandContext(ctx, filepath.Join(*bin, "baton-cursor"), "--cursor-base-url", baseURL, "-f", *out)
	sync.Env = append(os.Environ(), "BATON_CURSOR_API_KEY="+simulator.DefaultAPIKey)
	sync.Stdout, sync.Stderr = &log, &log
	start := time.Now()
	if err := sync.Run(); err != nil {
		return fmt.Errorf("baton-cursor failed (%v); its output:\n%s", err, log.String())
	}
	took := time.Since(start)

	c, err := c1zread.Read(ctx, *out)
	if err != nil {
		return fmt.Errorf("read %s: %w", *out, err)
	}
	requests, err := membersRequests(baseURL)
	if err != nil {
		return err
	}
	printSummary(os.Stdout, c, *members, *out, took, requests)
	return nil
}

func printSummary(w io.Writer, c *c1zread.Contents, members int, out string, took time.Duration, requests int) {
	users := c.OfType("user")
	disabled := 0
	for _, u := range users {
		if u.GetStatus().GetStatus() == v2.Status_RESOURCE_STATUS_DISABLED {
			disabled++
		}
	}
	perRole := map[string]int{}
	for _, g := range c.Grants {
		perRole[g.GetEntitlement().GetResource().GetId().GetResource()]++
	}
	var roles []string
	for _, r := range c.OfType("role") {
		roles = append(roles, fmt.Sprintf("%s %d", r.GetId().GetResource(), perRole[r.GetId().GetResource()]))
	}
	slices.Sort(roles)
	fmt.Fprintf(w, "baton-cursor synced a simulated Cursor team of %d members in %.2f s\n", members, took.Seconds())
	fmt.Fprintf(w, "  accounts:  %d (%d active, %d removed, kept as disabled)\n", len(users), len(users)-disabled, disabled)
	fmt.Fprintf(w, "  roles:     %d (%s)\n", len(roles), strings.Join(roles, ", "))
	fmt.Fprintf(w, "  grants:    %d (one per active member)\n", len(c.Grants))
	fmt.Fprintf(w, "  requests:  %d to GET /teams/members\n", requests)
	fmt.Fprintf(w, "wrote %s; look inside with: go tool baton resources -f %s\n", out, out)
}

// membersRequests is how many GET /teams/members the tenant has served.
func membersRequests(baseURL string) (int, error) {
	counts, err := simulator.RequestCounts(baseURL)
	return counts["/teams/members"], err
}
