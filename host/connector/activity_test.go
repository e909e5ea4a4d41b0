package connector

import (
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
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

// What the profile says of a member's activity and spend: the facts read, and
// for each source not read, that it is unknown (never a zero that reads as
// "no activity" or "no spend").
func TestActivityProfileMarksWhatWasNotRead(t *testing.T) {
	login := time.Date(2026, 11, 30, 9, 15, 0, 0, time.FixedZone("CET", 3600))
	cycle := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		a    *pluginv1.Activity
		want map[string]any
	}{
		{"activity off", nil, map[string]any{}},
		{"nothing read", &pluginv1.Activity{WindowDays: 30},
			map[string]any{"activity_window_days": 30.0, "usage_unknown": true, "logins_unknown": true, "spend_unknown": true}},
		{"usage and spend read, logins not", &pluginv1.Activity{WindowDays: 7, UsageKnown: true, ActiveDays: 3, LastActiveDay: "2026-11-29",
			SpendKnown: true, SpendCents: 1234.5, FastPremiumRequests: 12, SpendLimitDollars: proto.Float64(50), CycleStart: timestamppb.New(cycle)},
			map[string]any{"activity_window_days": 7.0, "active_days": 3.0, "last_active_day": "2026-11-29", "logins_unknown": true,
				"spend_cents": 1234.5, "fast_premium_requests": 12.0, "spend_limit_dollars": 50.0, "spend_cycle_start": "2026-11-01"}},
		{"no spend limit: no limit field, not a limit of 0", &pluginv1.Activity{WindowDays: 30, SpendKnown: true},
			map[string]any{"activity_window_days": 30.0, "usage_unknown": true, "logins_unknown": true, "spend_cents": 0.0, "fast_premium_requests": 0.0}},
		{"everything read, a login (in UTC)", &pluginv1.Activity{WindowDays: 30, UsageKnown: true, LoginsKnown: true, LastLogin: timestamppb.New(login),
			LoginsReadSince: timestamppb.New(start), WindowStart: timestamppb.New(start), SpendKnown: true},
			map[string]any{"activity_window_days": 30.0, "active_days": 0.0, "last_login": "2026-11-30T08:15:00Z", "no_activity_in_window": false,
				"spend_cents": 0.0, "fast_premium_requests": 0.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := map[string]*structpb.Value{}
			addActivity(f, tc.a)
			if got := (&structpb.Struct{Fields: f}).AsMap(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("profile\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}
