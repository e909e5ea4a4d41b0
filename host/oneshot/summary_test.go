package oneshot

import (
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/protobuf/types/known/structpb"
)

// A member whose logins were read for part of the window only is counted as
// unknown in the last line, as *_unknown fields are: the line never says
// "nothing unknown" where a profile says coverage was partial.
func TestSummarySaysPartialLoginCoverage(t *testing.T) {
	s := newSummary()
	s.observe(&v2.ResourceTypesServiceListResourceTypesResponse{List: []*v2.ResourceType{{Id: "user", DisplayName: "User"}}})
	profile := func(fields map[string]any) *v2.Resource {
		p, err := structpb.NewStruct(fields)
		if err != nil {
			t.Fatal(err)
		}
		return userWithProfile(t, p)
	}
	s.observe(&v2.ResourcesServiceListResourcesResponse{List: []*v2.Resource{
		profile(map[string]any{"no_activity_in_window": false}),
		profile(map[string]any{"logins_read_since": "2026-11-20T00:00:00Z"}),
		profile(map[string]any{"logins_read_since": "2026-11-20T00:00:00Z", "spend_unknown": true}),
	}})
	got := s.line("", "out.c1z")
	want := "wrote out.c1z: 3 users, 0 grants; unknown: logins before logins_read_since for 2 users, spend for 1 user"
	if got != want {
		t.Errorf("last line\n got %q\nwant %q", got, want)
	}
}

func userWithProfile(t *testing.T, p *structpb.Struct) *v2.Resource {
	t.Helper()
	return &v2.Resource{Id: &v2.ResourceId{ResourceType: "user", Resource: t.Name()}, Profile: p}
}
