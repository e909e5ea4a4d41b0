package connector

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// "No activity" is claimed only when this member's logins were read back to
// the window's start; otherwise the profile says how far they were read.
func TestNoActivityOnlyForLoginsReadBackToTheWindowStart(t *testing.T) {
	start := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC)
	later := start.Add(20 * 24 * time.Hour)
	for _, tc := range []struct {
		name      string
		readSince time.Time
		days      uint32
		login     bool
		want      any // no_activity_in_window; nil = absent
		wantSince bool
	}{
		{"whole window, nothing", start, 0, false, true, false},
		{"logins read to 20 days after the start, nothing", later, 0, false, nil, true},
		{"logins short, but a usage day", later, 2, false, false, false},
		{"logins short, but a login", later, 0, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &pluginv1.Activity{WindowDays: 30, UsageKnown: true, LoginsKnown: true, ActiveDays: tc.days,
				LoginsReadSince: timestamppb.New(tc.readSince), WindowStart: timestamppb.New(start)}
			if tc.login {
				a.LastLogin = timestamppb.New(later.Add(time.Hour))
			}
			f := map[string]*structpb.Value{}
			addActivity(f, a)
			var got any
			if v, ok := f["no_activity_in_window"]; ok {
				got = v.GetBoolValue()
			}
			if got != tc.want {
				t.Errorf("no_activity_in_window %v, want %v", got, tc.want)
			}
			if v, ok := f["logins_read_since"]; ok != tc.wantSince || ok && v.GetStringValue() != later.Format(time.RFC3339) {
				t.Errorf("logins_read_since %v (present %v), want present %v", v, ok, tc.wantSince)
			}
		})
	}
	// A plugin that does not say where the window starts: no claim either.
	f := map[string]*structpb.Value{}
	addActivity(f, &pluginv1.Activity{UsageKnown: true, LoginsKnown: true, LoginsReadSince: timestamppb.New(start)})
	if _, ok := f["no_activity_in_window"]; ok {
		t.Error("no_activity_in_window without window_start")
	}
}
