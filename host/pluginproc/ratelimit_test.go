package pluginproc

import (
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func rateLimited(t *testing.T) error {
	t.Helper()
	st, err := status.New(codes.Unavailable, "Cursor kept rate-limiting /teams/members (HTTP 429) after 6 attempts").
		WithDetails(v2.RateLimitDescription_builder{Status: v2.RateLimitDescription_STATUS_OVERLIMIT,
			ResetAt: timestamppb.New(time.Now().Add(3 * time.Second))}.Build())
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

// baton-sdk waits out Cursor's rate limit (Unavailable with its reset time)
// rateLimitWaits times in a row, then the sync ends (Aborted); a success in
// between starts the count again; other outages end the sync at once.
func TestRateLimitsPassTheHintThenEndTheSync(t *testing.T) {
	var r rateLimits
	for round := range 2 {
		for i := range rateLimitWaits {
			err := r.final(rateLimited(t), "")
			if status.Code(err) != codes.Unavailable || !hasRateLimit(status.Convert(err)) {
				t.Fatalf("round %d, rate-limited answer %d: %v; want Unavailable with Cursor's reset time", round, i+1, err)
			}
		}
		if round == 0 {
			r.succeeded()
		}
	}
	err := r.final(rateLimited(t), "")
	if status.Code(err) != codes.Aborted || !strings.Contains(err.Error(), "waited for Cursor's rate limit to reset 2 times") {
		t.Errorf("answer past the limit: %v; want Aborted saying so", err)
	}
	if err := r.final(status.Error(codes.Unavailable, "Cursor kept failing (HTTP 500)"), "p: "); status.Code(err) != codes.Aborted ||
		!strings.HasPrefix(status.Convert(err).Message(), "p: Cursor kept failing") {
		t.Errorf("an outage without a rate limit: %v; want Aborted", err)
	}
}

// The plugin pacing itself under the organization's 20 a minute (a
// STATUS_OK RateLimitDescription: nothing was refused) is passed on every
// time and never counted: a 100,000-person organization hands back about
// 25 times in a row while its teams are read.
func TestPacingIsPassedOnWithoutLimit(t *testing.T) {
	var r rateLimits
	st, err := status.New(codes.Unavailable, "baton-cursor-plugin: pacing under Cursor's 20 organization requests a minute").
		WithDetails(v2.RateLimitDescription_builder{Status: v2.RateLimitDescription_STATUS_OK,
			ResetAt: timestamppb.New(time.Now().Add(time.Minute))}.Build())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * rateLimitWaits {
		if err := r.final(st.Err(), ""); status.Code(err) != codes.Unavailable {
			t.Fatalf("pacing answer %d: %v; want it passed on as Unavailable", i+1, err)
		}
	}
	if err := r.final(rateLimited(t), ""); status.Code(err) != codes.Unavailable {
		t.Errorf("Cursor's first 429 after pacing answers: %v; want it waited out (the pacing is not counted)", err)
	}
}
