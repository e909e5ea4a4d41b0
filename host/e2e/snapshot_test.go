//go:build linux

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// baton-sdk's sync id travels from the syncer through the host into the
// plugin: the sync pins one roster snapshot, once, under a real sync id, so a
// cache expiry in the middle of a sync cannot mix two rosters
// (plugin/service/roster_test.go:TestPinnedSyncIsServedFromOneSnapshot).
func TestSyncPinsOneSnapshotUnderBatonsSyncID(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 120, Seed: 61})
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := runHost(t, runOpts{Args: syncArgs(srv.URL, c1z, "--log-level", "debug"), Key: strPtr(testKey())}, 60*time.Second)
	fxRequireExit(t, r, 0)
	type pinLine struct {
		SyncID   string `json:"sync_id"`
		Snapshot string `json:"snapshot"`
	}
	var pins []pinLine
	for _, line := range strings.Split(r.out.String(), "\n") {
		var p pinLine
		if strings.Contains(line, "pinned a sync to a roster snapshot") && json.Unmarshal([]byte(line), &p) == nil {
			pins = append(pins, p)
		}
	}
	if len(pins) != 1 || pins[0].SyncID == "" || pins[0].Snapshot == "" {
		t.Errorf("pins %+v; want exactly one, naming baton's sync id and a snapshot", pins)
	}
	if n := tenant.Requests(membersPath); n != 1 {
		t.Errorf("%s requests: %d, want 1", membersPath, n)
	}
	if got := len(fxRead(t, c1z).OfType("user")); got != 120 {
		t.Errorf("users: %d, want 120", got)
	}
}
