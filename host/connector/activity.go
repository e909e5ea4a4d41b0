package connector

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// addActivity puts a member's activity and spend into its profile. Facts the
// plugin could not read are said to be unknown, never shown as "no activity".
func addActivity(fields map[string]*structpb.Value, a *pluginv1.Activity) {
	if a == nil {
		return // activity is off (cursor-activity-days 0)
	}
	fields["activity_window_days"] = structpb.NewNumberValue(float64(a.GetWindowDays()))
	if a.GetUsageKnown() {
		fields["active_days"] = structpb.NewNumberValue(float64(a.GetActiveDays()))
		if d := a.GetLastActiveDay(); d != "" {
			fields["last_active_day"] = structpb.NewStringValue(d)
		}
	} else {
		fields["usage_unknown"] = trueValue
	}
	if t := a.GetLastLogin(); t != nil {
		fields["last_login"] = structpb.NewStringValue(t.AsTime().UTC().Format(time.RFC3339))
	}
	if !a.GetLoginsKnown() {
		fields["logins_unknown"] = trueValue
	}
	if a.GetUsageKnown() && a.GetLoginsKnown() {
		// Daily usage covers the whole window; this member's login events may
		// not (the newest pages stopped short and the budget ran out before
		// their own query): "no activity" only for what was read.
		seen := a.GetActiveDays() > 0 || a.GetLastLogin() != nil
		whole := a.GetWindowStart() != nil && !a.GetLoginsReadSince().AsTime().After(a.GetWindowStart().AsTime())
		switch {
		case seen || whole:
			fields["no_activity_in_window"] = boolValue(!seen)
		default:
			fields["logins_read_since"] = structpb.NewStringValue(a.GetLoginsReadSince().AsTime().UTC().Format(time.RFC3339))
		}
	}
	if !a.GetSpendKnown() {
		fields["spend_unknown"] = trueValue
		return
	}
	fields["spend_cents"] = structpb.NewNumberValue(a.GetSpendCents())
	fields["fast_premium_requests"] = structpb.NewNumberValue(float64(a.GetFastPremiumRequests()))
	if a.SpendLimitDollars != nil {
		fields["spend_limit_dollars"] = structpb.NewNumberValue(a.GetSpendLimitDollars())
	}
	if t := a.GetCycleStart(); t != nil {
		fields["spend_cycle_start"] = structpb.NewStringValue(t.AsTime().UTC().Format(time.DateOnly))
	}
}

// lastActivity is the user trait's last login: the later of the latest login
// event and the latest active usage day; zero when neither is known.
func lastActivity(m *pluginv1.Member) time.Time {
	if t := m.GetActivity().GetLastActivity(); t != nil {
		return t.AsTime()
	}
	return time.Time{}
}
