//go:build linux

package main

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// pluginStart times, n times, how long the plugin takes from being started
// to its first answer: go-plugin starts the process, reads the handshake,
// does the AutoMTLS exchange and dials (NewClient + Dispense), then GetInfo
// answers (before Configure, so no Cursor call is made). Durations are sorted.
func pluginStart(path string, n int) ([]time.Duration, error) {
	var out []time.Duration
	for range n {
		cfg := handshake.ClientConfig(exec.Command(path), hclog.NewNullLogger())
		start := time.Now()
		c := plugin.NewClient(cfg)
		svc, err := handshake.Dispense(c)
		if err == nil {
			_, err = svc.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
		}
		took := time.Since(start)
		c.Kill()
		if err != nil {
			return nil, fmt.Errorf("plugin start: %w", err)
		}
		out = append(out, took)
	}
	slices.Sort(out)
	return out, nil
}
