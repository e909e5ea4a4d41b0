package simulator

import (
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config describes one simulated team.
type Config struct {
	Members      int     // team size, 0..1_000_000
	Seed         int64   // same seed + same Members => byte-identical responses
	APIKey       string  // the only key accepted (Basic username with empty password, or Bearer)
	IDStyle      IDStyle // default "string"
	BusinessPlan bool    // every Admin API call answers 403 "Enterprise access required"
	OmitRemoved  bool    // leave removed members out instead of isRemoved:true (forum report F-REM2)
	// OrgAdmins: the last N rows are organization admins, role OrgAdminRole
	// (Cursor lists them in team member lists since Sep 2026).
	OrgAdmins int
	// MembersPageSize > 0 pages GET /teams/members the way Cursor's own
	// client reads it (docs/cursor-api.md §2.1.1): page (1-based, default 1) and
	// pageSize (default and cap: this, a larger one is clamped), answered as
	// {"teamMembers":[…],"pagination":{page,pageSize,totalCount,totalPages,
	// hasNextPage,hasPreviousPage}}. 0: the documented single answer, any
	// query ignored.
	MembersPageSize int
	// LongEmails makes every email 254 characters, RFC 5321's longest
	// (first.last.<row>.xxx…@engineering.emea.subsidiary-holdings.aaa….<domain>).
	LongEmails bool
	Faults     Faults

	// SCIMToken, when set, serves SCIM 2.0 at /scim/v2, which then needs
	// "Authorization: Bearer <SCIMToken>" (the API key does not work there,
	// nor the token on /teams/*). Empty: /scim/v2 answers 404.
	SCIMToken string
	// AutoFirstLogin makes a SCIM create add the team member at once. By
	// default the member appears only after FirstLogin (docs/cursor-api.md §4.3).
	AutoFirstLogin bool
	// SCIMDuplicateUserNames: the directory holds two SCIM users for each of
	// these emails, the second's userName differing only in letter case.
	SCIMDuplicateUserNames []string
	// SCIMMaxResults caps the users one SCIM list page holds: a larger count
	// is lowered to it, as RFC 7644 §3.4.2.4 allows. 0 means 100.
	SCIMMaxResults int
	// SCIMCaseSensitiveUserName makes the directory compare userName letter
	// case exactly, as real servers do although RFC 7643 §4.1.1 says not
	// (docs/cursor-api.md §4.7): a `userName eq` filter finds only the exact
	// spelling, and a POST is refused (409) only for an exact duplicate.
	SCIMCaseSensitiveUserName bool

	// ActivityNow is when the activity history (activity.go) ends; zero
	// means the time of the first activity request.
	ActivityNow time.Time
	// RateLimitPerMinute > 0 answers 429 to Admin API requests past this
	// many in a clock minute, every route counted together (Cursor: 20).
	RateLimitPerMinute int
	// ActivityFaults are faults of the audit, daily usage and spend routes.
	ActivityFaults ActivityFaults
	// Org, with an APIKey, adds the simulated organization (org.go).
	Org OrgConfig
}

// Faults are switchable failure modes. Latency comes first on every route.
// The Admin API routes share one set of counters and apply them in the order
// RateLimited, ServerErrors, (auth, plan), Delay, Truncate/InvalidJSON (the
// last two only on GET /teams/members).
// SCIM routes have SCIMServerErrors, checked before auth, and after auth
// SCIMSearchMisses (searches by userName) and SCIMConcurrentDeletes (DELETE).
type Faults struct {
	RateLimited      int           // the first N Admin API requests answer 429
	RetryAfter       string        // Retry-After header on the 429s ("" = none)
	ServerErrors     int           // then the next N answer 503; -1 = every request answers 500 forever
	ServerRetryAfter string        // Retry-After header on the 5xx answers ("" = none)
	Delay            time.Duration // sleep before answering; ends early when the client goes away
	DelayedRequests  int           // with Delay: only the next N requests that reach it are slow (0 = all)
	Truncate         bool          // 200 with the full Content-Length but only half the body, then close
	InvalidJSON      bool          // 200 with a body that is not JSON
	SCIMServerErrors int           // the next N SCIM requests answer 503 with a SCIM error; -1 = forever
	SCIMRetryAfter   string        // Retry-After header on those 503s ("" = none)
	// Latency: every Admin API and SCIM request waits this long before it is
	// answered, faults included, as a distant server's round trip would. Unlike
	// Delay it has no counter and covers SCIM too.
	Latency time.Duration

	// MalformedRequests, with Truncate or InvalidJSON: only the next N
	// answers of GET /teams/members that get that far are malformed (0 = all).
	MalformedRequests int
	// SCIMSearchMisses: the next N SCIM lists filtered by `userName eq "…"`
	// answer an empty list, as a lagging replica would; -1 = every one.
	SCIMSearchMisses int
	// SCIMConcurrentDeletes: the next N DELETEs of an existing SCIM user lose
	// a race: the user is deleted (its member marked removed), but the answer
	// is 404, as if someone else had deleted it a moment before.
	SCIMConcurrentDeletes int
	// RosterChangesBetweenPages, with Config.MembersPageSize: the next N
	// answers for a page after the first add a member to the team before
	// answering, as someone joining mid-read would; -1 = every one.
	RosterChangesBetweenPages int
}

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
	body       []byte   // cached /teams/members body; nil after a roster change
	bodyLen    []string // Content-Length header value for body
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

// Canned bodies. The 401 is the live shape seen on /teams/members (F-401);
// the others are the generic envelope of docs/cursor-api.md §3.2.
var (
	bodyUnauthorized     = []byte(`{"statusCode":401,"error":"Unauthorized","message":"Invalid API key"}`)
	bodyForbidden        = []byte(`{"error":"Forbidden","message":"Enterprise access required"}`)
	bodyNotFound         = []byte(`{"error":"Not Found","message":"Resource not found"}`)
	bodyMethodNotAllowed = []byte(`{"error":"Method Not Allowed","message":"Method not allowed"}`)
	bodyTooManyRequests  = []byte(`{"error":"Too Many Requests","message":"Rate limit exceeded. Please try again later."}`)
	bodyUnavailable      = []byte(`{"error":"Service Unavailable","message":"The service is temporarily unavailable. Please try again later."}`)
	bodyInternal         = []byte(`{"error":"Internal Server Error","message":"An unexpected error occurred"}`)
	// What a proxy in front of the API might send with a 200.
	bodyNotJSON = []byte("<html><head><title>Cursor</title></head><body>Something went wrong</body></html>\n")

	headerJSON = []string{"application/json"}
)

const (
	pathMembers      = "/teams/members"
	pathRemoveMember = "/teams/remove-member"
	pathRequests     = "/_simulator/requests"
	pathFirstLogin   = "/_simulator/first-login"
	pathSCIM         = "/scim/v2"
)

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

// invalidateLocked drops the cached /teams/members body after a roster change.
func (t *Tenant) invalidateLocked() {
	t.body, t.bodyLen = nil, nil
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

func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch path {
	case pathRequests:
		t.serveRequestCounts(w, r)
		return
	case pathFirstLogin:
		t.serveFirstLogin(w, r)
		return
	}
	key := requestKey(r.Method, path)
	t.mu.Lock()
	t.requests[key]++
	latency := t.faults.Latency
	t.mu.Unlock()
	if latency > 0 && !wait(r, latency) {
		return // the client gave up; nobody reads an answer
	}

	switch {
	case path == pathMembers:
		if r.Method != http.MethodGet {
			w.Header()["Allow"] = []string{http.MethodGet}
			writeJSON(w, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
			return
		}
		t.serveAdmin(w, r, func(w http.ResponseWriter, f Faults) { t.serveMembers(w, r, f) })
	case path == pathRemoveMember:
		if r.Method != http.MethodPost {
			w.Header()["Allow"] = []string{http.MethodPost}
			writeJSON(w, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
			return
		}
		t.serveAdmin(w, r, func(w http.ResponseWriter, _ Faults) { t.serveRemoveMember(w, r) })
	case isOrgPath(path):
		t.serveOrg(w, r)
	case isActivityPath(path):
		t.serveActivity(w, r)
	case key != path: // under /scim/v2
		t.serveSCIM(w, r)
	default:
		writeJSON(w, http.StatusNotFound, bodyNotFound)
	}
}

// serveAdmin runs the checks every Admin API route shares, in this order:
// rate limit (a per-team limiter sits in front of the app, so before auth),
// server errors, auth, plan, delay. Then serve answers.
func (t *Tenant) serveAdmin(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, Faults)) {
	if t.rateLimited(w) {
		return
	}
	t.mu.Lock()
	f := t.faults
	status := 0
	switch {
	case t.rateLeft > 0:
		t.rateLeft--
		status = http.StatusTooManyRequests
	case t.serverLeft == -1:
		status = http.StatusInternalServerError
	case t.serverLeft > 0:
		t.serverLeft--
		status = http.StatusServiceUnavailable
	}
	t.mu.Unlock()

	switch status {
	case http.StatusTooManyRequests:
		setRetryAfter(w, f.RetryAfter)
		writeJSON(w, status, bodyTooManyRequests)
		return
	case http.StatusInternalServerError:
		setRetryAfter(w, f.ServerRetryAfter)
		writeJSON(w, status, bodyInternal)
		return
	case http.StatusServiceUnavailable:
		setRetryAfter(w, f.ServerRetryAfter)
		writeJSON(w, status, bodyUnavailable)
		return
	}
	if !t.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, bodyUnauthorized)
		return
	}
	if t.businessPlan {
		writeJSON(w, http.StatusForbidden, bodyForbidden)
		return
	}
	if f.Delay > 0 && t.takeDelay() {
		timer := time.NewTimer(f.Delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return // the client gave up; nobody reads an answer
		}
	}
	serve(w, f)
}

// wait sleeps d, or less when the client goes away first (then it reports false).
func wait(r *http.Request, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (t *Tenant) serveMembers(w http.ResponseWriter, r *http.Request, f Faults) {
	page, size := 0, 0 // page 0: not paged
	if t.pageSize > 0 {
		var ok bool
		// A larger pageSize is clamped, as /organizations/members does (docs/cursor-api.md §6.1).
		if page, size, ok = pageParams(r.URL.Query(), t.pageSize, math.MaxInt); !ok {
			badRequest(w, "page and pageSize must be positive integers")
			return
		}
		size = min(size, t.pageSize)
	}
	t.mu.Lock()
	var body []byte
	var bodyLen []string
	if page == 0 {
		body, bodyLen = t.membersBodyLocked()
	} else {
		if page > 1 && t.joinsLeft != 0 {
			t.joinsLeft = max(t.joinsLeft-1, -1)
			t.joinLocked()
		}
		body = t.membersPageLocked(page, size)
		bodyLen = []string{strconv.Itoa(len(body))}
	}
	malformed := (f.InvalidJSON || f.Truncate) && t.takeMalformedLocked()
	t.mu.Unlock()

	h := w.Header()
	h["Content-Type"] = headerJSON
	switch {
	case malformed && f.InvalidJSON:
		writeJSON(w, http.StatusOK, bodyNotJSON)
	case malformed:
		// Declaring the full length and writing half makes net/http close
		// the connection: the client sees an unexpected EOF mid-body.
		h["Content-Length"] = bodyLen
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
	default:
		h["Content-Length"] = bodyLen
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

// authorized accepts Basic with the key as username and an empty password
// (the documented scheme) or Bearer with the key.
func (t *Tenant) authorized(r *http.Request) bool {
	if user, pass, ok := r.BasicAuth(); ok {
		return pass == "" && subtle.ConstantTimeCompare([]byte(user), []byte(t.apiKey)) == 1
	}
	auth := r.Header.Get("Authorization")
	if len(auth) > 7 && strings.EqualFold(auth[:7], "Bearer ") {
		return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth[7:])), []byte(t.apiKey)) == 1
	}
	return false
}

func (t *Tenant) serveRequestCounts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header()["Allow"] = []string{http.MethodGet}
		writeJSON(w, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
		return
	}
	t.mu.Lock()
	body, err := json.Marshal(t.requests)
	t.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, bodyInternal)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func setRetryAfter(w http.ResponseWriter, v string) {
	if v != "" {
		w.Header()["Retry-After"] = []string{v}
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// takeDelay reports whether this request is one of the slow ones.
func (t *Tenant) takeDelay() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.faults.DelayedRequests == 0:
		return true
	case t.delayLeft > 0:
		t.delayLeft--
		return true
	}
	return false
}

// takeMalformedLocked reports whether this members answer is one of the
// malformed ones.
func (t *Tenant) takeMalformedLocked() bool {
	switch {
	case t.faults.MalformedRequests == 0:
		return true
	case t.malformedLeft > 0:
		t.malformedLeft--
		return true
	}
	return false
}

// membersPageLocked encodes one page of the rows the answer shows (removed
// ones left out with OmitRemoved), with Cursor's pagination object.
func (t *Tenant) membersPageLocked(page, size int) []byte {
	total := len(t.members)
	if t.omitRemoved {
		total = 0
		for i := range t.members {
			if !t.members[i].IsRemoved {
				total++
			}
		}
	}
	pages := (total + size - 1) / size
	buf := make([]byte, 0, 200+size*150)
	buf = append(buf, `{"teamMembers":[`...)
	skip, n := (page-1)*size, 0
	for i := range t.members {
		m := &t.members[i]
		if t.omitRemoved && m.IsRemoved {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if n == size {
			break
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = appendMember(buf, m)
		n++
	}
	return fmt.Appendf(buf, `],"pagination":{"page":%d,"pageSize":%d,"totalCount":%d,"totalPages":%d,"hasNextPage":%t,"hasPreviousPage":%t}}`,
		page, size, total, pages, page < pages, page > 1)
}

// joinLocked adds a new active member at the end of the roster.
func (t *Tenant) joinLocked() {
	m := t.gen.member(len(t.members)) // the row index keeps its email unique
	m.Role, m.IsRemoved = "member", false
	t.members = append(t.members, m)
	t.invalidateLocked()
}
