package oneshot

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
)

// summary is what a one-shot run did, said in its last line: counted from
// the connector's answers as they pass (inprocess.go), plus a provisioning
// action's outcome in the connector's words (Outcome).
type summary struct {
	mu        sync.Mutex
	typeNames map[string]string // resource type id -> display name
	resources map[string]int    // by resource type id
	unknown   map[[2]string]int // (resource type id, profile flag such as logins_unknown) -> resources with it true
	grants    int
	events    int
	outcome   string
}

func newSummary() *summary {
	return &summary{typeNames: map[string]string{}, resources: map[string]int{}, unknown: map[[2]string]int{}}
}

type summaryKey struct{}

// Outcome records what a one-shot provisioning action did, in one sentence
// (such as "created the Cursor account for dana@example.com through SCIM"),
// for the run's last line. Outside a one-shot run it does nothing.
func Outcome(ctx context.Context, sentence string) {
	if s, ok := ctx.Value(summaryKey{}).(*summary); ok {
		s.mu.Lock()
		s.outcome = sentence
		s.mu.Unlock()
	}
}

// observe counts a connector answer.
func (s *summary) observe(reply any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r := reply.(type) {
	case *v2.ResourceTypesServiceListResourceTypesResponse:
		for _, t := range r.GetList() {
			s.typeNames[t.GetId()] = t.GetDisplayName()
		}
	case *v2.ResourcesServiceListResourcesResponse:
		for _, res := range r.GetList() {
			typ := res.GetId().GetResourceType()
			s.resources[typ]++
			for k, val := range res.GetProfile().GetFields() {
				switch {
				case strings.HasSuffix(k, "_unknown") && val.GetBoolValue():
					s.unknown[[2]string{typ, k}]++
				case k == "logins_read_since": // this member's logins were read for part of the window only
					s.unknown[[2]string{typ, "logins before logins_read_since"}]++
				}
			}
		}
	case *v2.GrantsServiceListGrantsResponse:
		s.grants += len(r.GetList())
	case *v2.ListEventsResponse:
		s.events += len(r.GetEvents())
	}
}

// line is the last line of a run that did act (pickAction; "" for a sync,
// which wrote out).
func (s *summary) line(act, out string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.outcome != "":
		return s.outcome
	case act == "event-feed":
		return "read " + count(s.events, "event") + " from the event feed"
	case act != "":
		return "--" + act + ": done"
	}
	var parts []string
	// The most numerous first (users), then by name: the same order every run.
	types := slices.SortedFunc(maps.Keys(s.resources), func(a, b string) int {
		return cmp.Or(cmp.Compare(s.resources[b], s.resources[a]), strings.Compare(a, b))
	})
	for _, typ := range types {
		parts = append(parts, count(s.resources[typ], s.name(typ)))
	}
	parts = append(parts, count(s.grants, "grant"))
	var unknown []string
	for _, k := range slices.SortedFunc(maps.Keys(s.unknown), func(a, b [2]string) int {
		return strings.Compare(a[0]+a[1], b[0]+b[1])
	}) {
		unknown = append(unknown, fmt.Sprintf("%s for %s", strings.TrimSuffix(k[1], "_unknown"), count(s.unknown[k], s.name(k[0]))))
	}
	what := "nothing unknown"
	if len(unknown) > 0 {
		what = "unknown: " + strings.Join(unknown, ", ")
	}
	return fmt.Sprintf("wrote %s: %s; %s", out, strings.Join(parts, ", "), what)
}

// name is a resource type's display name in lower case.
func (s *summary) name(typ string) string {
	if n := s.typeNames[typ]; n != "" {
		return strings.ToLower(n)
	}
	return typ
}

// count is "1 user", "3 users".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
