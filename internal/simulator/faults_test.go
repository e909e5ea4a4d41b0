package simulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Tests of the fault switches the end-to-end fault matrix needs
// (host/e2e/faults_test.go): MalformedRequests, SCIMSearchMisses and
// SCIMConcurrentDeletes.

func TestNewValidatesReliabilityFaults(t *testing.T) {
	cases := []struct {
		name string
		f    Faults
		want string
	}{
		{"negative malformed requests", Faults{Truncate: true, MalformedRequests: -1}, "MalformedRequests must be >= 0"},
		{"malformed requests alone", Faults{MalformedRequests: 1}, "MalformedRequests needs Faults.Truncate or Faults.InvalidJSON"},
		{"search misses", Faults{SCIMSearchMisses: -2}, "SCIMSearchMisses must be >= -1"},
		{"concurrent deletes", Faults{SCIMConcurrentDeletes: -1}, "SCIMConcurrentDeletes must be >= 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(Config{APIKey: "k", Faults: c.f})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New error = %v, want it to contain %q", err, c.want)
			}
		})
	}
	for _, f := range []Faults{
		{Truncate: true, MalformedRequests: 2},
		{InvalidJSON: true, MalformedRequests: 1},
		{SCIMSearchMisses: -1},
		{SCIMSearchMisses: 3, SCIMConcurrentDeletes: 2},
	} {
		if _, err := New(Config{APIKey: "k", Faults: f}); err != nil {
			t.Errorf("New(%+v): %v", f, err)
		}
	}
}

func TestMalformedRequestsOnlyBreakTheFirstOnes(t *testing.T) {
	_, full := newServer(t, Config{Members: 50})
	whole := get(t, full, pathMembers, testKey).body

	t.Run("truncate", func(t *testing.T) {
		tenant, srv := newServer(t, Config{Members: 50, Faults: Faults{Truncate: true, MalformedRequests: 2}})
		// Refused requests do not use up the malformed answers.
		if r := get(t, srv, pathMembers, "crsr_wrong"); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong key: %d", r.status)
		}
		for i := 0; i < 2; i++ {
			r := get(t, srv, pathMembers, testKey)
			if r.status != 200 || !errors.Is(r.err, io.ErrUnexpectedEOF) || len(r.body) != len(whole)/2 {
				t.Fatalf("answer %d: %d, %d bytes, err %v; want a body cut in half", i+1, r.status, len(r.body), r.err)
			}
		}
		r := get(t, srv, pathMembers, testKey)
		if r.status != 200 || r.err != nil || string(r.body) != string(whole) {
			t.Fatalf("third answer: %d, %d bytes, err %v; want the whole body", r.status, len(r.body), r.err)
		}
		// SetFaults restarts the count.
		tenant.SetFaults(Faults{Truncate: true, MalformedRequests: 1})
		if r := get(t, srv, pathMembers, testKey); !errors.Is(r.err, io.ErrUnexpectedEOF) {
			t.Fatalf("after SetFaults: err %v, want a cut body", r.err)
		}
		if r := get(t, srv, pathMembers, testKey); r.err != nil || string(r.body) != string(whole) {
			t.Fatalf("after SetFaults, second answer: err %v, want the whole body", r.err)
		}
	})

	t.Run("invalid JSON", func(t *testing.T) {
		_, srv := newServer(t, Config{Members: 50, Faults: Faults{InvalidJSON: true, MalformedRequests: 1}})
		if r := get(t, srv, pathMembers, testKey); r.status != 200 || json.Valid(r.body) {
			t.Fatalf("first answer: %d %q, want a 200 that is not JSON", r.status, r.body)
		}
		for i := 0; i < 2; i++ {
			if r := get(t, srv, pathMembers, testKey); r.status != 200 || string(r.body) != string(whole) {
				t.Fatalf("answer %d after the malformed one: %d %.80q, want the roster", i+2, r.status, r.body)
			}
		}
	})

	t.Run("zero means every answer", func(t *testing.T) {
		_, srv := newServer(t, Config{Members: 50, Faults: Faults{InvalidJSON: true}})
		for i := 0; i < 3; i++ {
			if r := get(t, srv, pathMembers, testKey); json.Valid(r.body) {
				t.Fatalf("answer %d is JSON, want every answer malformed", i+1)
			}
		}
	})
}

func TestSCIMSearchMisses(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 30, Seed: 4, Faults: Faults{SCIMSearchMisses: 1}})
	email := tenant.Members()[RowSCIMActive].Email
	// An unfiltered list is not a search by userName and does not use up the miss.
	if l := decodeList(t, scimGet(t, srv, "/scim/v2/Users")); l.TotalResults != len(tenant.SCIMUsers()) {
		t.Fatalf("unfiltered list: %d users, want %d", l.TotalResults, len(tenant.SCIMUsers()))
	}
	if l := decodeList(t, scimGet(t, srv, filterPath(email))); l.TotalResults != 0 || len(l.Resources) != 0 {
		t.Fatalf("first search: %+v, want an empty list", l)
	}
	// The user is still there: a create conflicts, and the next search finds it.
	expectSCIMError(t, scimCall(t, srv, http.MethodPost, "/scim/v2/Users", testSCIMToken, createBody(email, true)), 409, "uniqueness")
	if l := decodeList(t, scimGet(t, srv, filterPath(email))); l.TotalResults != 1 || l.Resources[0].UserName != email {
		t.Fatalf("second search: %+v, want the user", l)
	}

	tenant.SetFaults(Faults{SCIMSearchMisses: -1})
	for i := 0; i < 3; i++ {
		if l := decodeList(t, scimGet(t, srv, filterPath(email))); l.TotalResults != 0 {
			t.Fatalf("search %d with SCIMSearchMisses -1: %+v, want an empty list", i+1, l)
		}
	}
}

func TestSCIMConcurrentDeletes(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 30, Seed: 5, Faults: Faults{SCIMConcurrentDeletes: 1}})
	// A DELETE of an unknown id is a plain 404 and does not use up the race.
	expectSCIMError(t, scimCall(t, srv, http.MethodDelete, "/scim/v2/Users/no-such-id", testSCIMToken, ""), 404, "")

	u := scimUserOf(t, tenant, RowSCIMActive)
	expectSCIMError(t, scimCall(t, srv, http.MethodDelete, "/scim/v2/Users/"+u.ID, testSCIMToken, ""), 404, "")
	for _, v := range tenant.SCIMUsers() {
		if v.ID == u.ID {
			t.Fatal("the user answered 404 is still in the directory")
		}
	}
	if !tenant.Members()[RowSCIMActive].IsRemoved {
		t.Fatal("the member of the raced user is not removed")
	}
	// The next DELETE of an existing user is a normal 204.
	other := scimUserOf(t, tenant, 6)
	if r := scimCall(t, srv, http.MethodDelete, "/scim/v2/Users/"+other.ID, testSCIMToken, ""); r.status != http.StatusNoContent {
		t.Fatalf("second DELETE: %d %s, want 204", r.status, r.body)
	}
}
