package simulator

import (
	"cmp"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tenant is a simulated Cursor team. It is an http.Handler.
type Tenant struct {
	apiKey       string
	businessPlan bool
	omitRemoved  bool
	pageSize     int // Config.MembersPageSize
	gen          generator
	teamSize     int // Config.Members: rows the SCIM directory is derived from

	scimToken      string
	autoFirstLogin bool
	scimDupes      []string
	scimMaxResults int
	scimExactCase  bool
	scimServer     http.Handler // nil when SCIM is off

	mu         sync.Mutex
	members    []Member
	body       []byte              // cached /teams/members body; nil after a roster change
	spendOrder map[spendSort][]int // cached /teams/spend row orders; nil after a roster change
	bodyLen    []string            // Content-Length header value for body
	faults     Faults
	rateLeft   int // 429s still to send
	serverLeft int // 503s still to send (-1 = 500 forever)
	scimLeft   int // SCIM 503s still to send (-1 = forever)
	delayLeft  int // slow answers still to send when Faults.DelayedRequests > 0
	requests   map[string]int
	scim       *scimDir // built on first use, see dirLocked

	malformedLeft  int // malformed answers still to send when Faults.MalformedRequests > 0
	searchMissLeft int // SCIM searches by userName still to miss (-1 = forever)
	deleteRaceLeft int // SCIM DELETEs still to answer 404 after deleting
	joinsLeft      int // pages after the first still to add a member before (-1 = every one)

	activityNow    time.Time
	history        *activityHistory // built on first use, see historyLocked
	activityFaults ActivityFaults
	actRateLeft    int // activity 429s still to send
	actServerLeft  int // activity 503s still to send (-1 = 500 forever)
	ratePerMinute  int
	rateMinute     time.Time // the clock minute rateUsed counts
	rateUsed       int
	org            *org // nil without Config.Org.APIKey
}

// New validates cfg and generates the team. The response body is encoded
// here once, so the first request is as fast as the rest.
func New(cfg Config) (*Tenant, error) {
	if err := validateConfig(cfg); err != nil {
		return nil, err
	}
	if cfg.IDStyle == "" {
		cfg.IDStyle = IDStyleString
	}
	g := newGenerator(cfg.Seed, cfg.IDStyle)
	g.longEmails = cfg.LongEmails
	t := &Tenant{
		apiKey:       cfg.APIKey,
		businessPlan: cfg.BusinessPlan,
		omitRemoved:  cfg.OmitRemoved,
		pageSize:     cfg.MembersPageSize,
		gen:          g,
		teamSize:     cfg.Members,
		requests:     map[string]int{},

		scimToken:      cfg.SCIMToken,
		autoFirstLogin: cfg.AutoFirstLogin,
		scimDupes:      append([]string(nil), cfg.SCIMDuplicateUserNames...),
		scimMaxResults: cmp.Or(cfg.SCIMMaxResults, defaultSCIMMaxResults),
		scimExactCase:  cfg.SCIMCaseSensitiveUserName,

		activityNow:    cfg.ActivityNow,
		activityFaults: cfg.ActivityFaults,
		actRateLeft:    cfg.ActivityFaults.RateLimited,
		actServerLeft:  cfg.ActivityFaults.ServerErrors,
		ratePerMinute:  cfg.RateLimitPerMinute,
	}
	if cfg.SCIMToken != "" {
		srv, err := newSCIMServer(t)
		if err != nil {
			return nil, fmt.Errorf("simulator: %w", err)
		}
		t.scimServer = srv
	}
	t.members = generate(t.gen, cfg.Members, cfg.OrgAdmins)
	if cfg.Org.APIKey != "" {
		t.org = newOrg(cfg.Org, cfg.Seed)
	}
	t.setFaultsLocked(cfg.Faults)
	t.membersBodyLocked()
	return t, nil
}

// Members returns a copy of the whole roster in response order, removed
// members included (with OmitRemoved the response is this minus IsRemoved rows).
func (t *Tenant) Members() []Member {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Member(nil), t.members...)
}

// Requests reports how many requests were counted under key, including those
// refused by faults, auth or method checks. /_simulator/ paths are not counted.
// Keys:
//   - outside /scim/v2, the URL path: "/teams/members", "/teams/remove-member";
//   - under /scim/v2, the method, a space and /scim/v2/<resource> with the id
//     and anything after it stripped: "GET /scim/v2/Users" counts lists and
//     reads by id, "POST /scim/v2/Users", "PATCH /scim/v2/Users",
//     "DELETE /scim/v2/Users", "GET /scim/v2/ServiceProviderConfig".
func (t *Tenant) Requests(key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requests[key]
}

// requestKey is the key a request is counted under; see Requests.
func requestKey(method, path string) string {
	rest, ok := strings.CutPrefix(path, pathSCIM)
	if !ok || rest != "" && rest[0] != '/' {
		return path
	}
	resource, _, _ := strings.Cut(rest[min(len(rest), 1):], "/")
	if resource == "" {
		return method + " " + pathSCIM
	}
	return method + " " + pathSCIM + "/" + resource
}

// SetFaults replaces the faults and restarts the RateLimited and
// ServerErrors counters. It panics on values New would reject.
func (t *Tenant) SetFaults(f Faults) {
	if err := validateFaults(f); err != nil {
		panic("simulator: SetFaults: " + err.Error())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setFaultsLocked(f)
}

func (t *Tenant) setFaultsLocked(f Faults) {
	t.faults = f
	t.rateLeft = f.RateLimited
	t.serverLeft = f.ServerErrors
	t.scimLeft = f.SCIMServerErrors
	t.delayLeft = f.DelayedRequests
	t.malformedLeft = f.MalformedRequests
	t.searchMissLeft = f.SCIMSearchMisses
	t.deleteRaceLeft = f.SCIMConcurrentDeletes
	t.joinsLeft = f.RosterChangesBetweenPages
}

// update lets roster-changing code edit the members under the lock; it
// drops the cached body.
func (t *Tenant) update(fn func(ms []Member) []Member) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.members = fn(t.members)
	t.invalidateLocked()
}

// invalidateLocked drops the cached /teams/members body and spend orders
// after a roster change.
func (t *Tenant) invalidateLocked() {
	t.body, t.bodyLen, t.spendOrder = nil, nil, nil
}

// membersBodyLocked returns the cached body, rebuilding it after a change.
// A rebuilt body is a new slice, so writers of the old one are unaffected.
func (t *Tenant) membersBodyLocked() ([]byte, []string) {
	if t.body == nil {
		t.body = encodeMembers(t.members, t.omitRemoved)
		t.bodyLen = []string{strconv.Itoa(len(t.body))}
	}
	return t.body, t.bodyLen
}
