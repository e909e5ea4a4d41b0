package simulator

import "time"

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
