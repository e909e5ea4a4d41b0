package simulator

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"
)

// OrgConfig turns on the simulated organization (docs/cursor-api.md §6): the
// Organization API at /organizations/* for an Organization API key, and the
// team's directory groups (/teams/directory-groups) and billing groups
// (/teams/groups) for the team key. Its people are generated from the
// tenant's Seed, apart from the /teams/members roster: team OrgTeamBase is
// "the key's team" by id only.
type OrgConfig struct {
	// APIKey is the Organization API key; it must differ from the team
	// key. Each is refused on the other's routes with 401 (§1.1). Empty:
	// no organization (its routes answer 404).
	APIKey string
	People int // organization members, 0..MaxOrgPeople
	Teams  int // teams of the organization, 2..50; 0 means 4
	// RateLimit is each key's limit on organization routes per RateWindow
	// (Cursor: 20 a minute, §3.1), counted in fixed windows that reset each
	// RateWindow. 0 means 20; -1 no limit. RateWindow 0 means a minute.
	RateLimit  int
	RateWindow time.Duration
}

// MaxOrgPeople is the largest organization New accepts.
const MaxOrgPeople = 100_000

// Fixed facts of the generated organization, for tests.
const (
	OrgID          = "org_sim"
	OrgTeamBase    = 101 // team ids are OrgTeamBase, OrgTeamBase+1, …
	orgAdminEvery  = 1000
	idxOrgNoTeam   = 1 // an organization admin who is on no team (docs/cursor-api.md §5)
	idxOrgUpper    = 5 // an email with capitals: identity must be lower-cased
	orgSecondEvery = 7 // every 7th person (from row 3) is on two teams
)

// OrgSCIMMessage is the refusal of SCIM-managed groups and teams, as the
// customer runbook quotes it (§4.6); Cursor documents the refusal, not its text.
const OrgSCIMMessage = "This team's membership is managed by your SCIM directory. Add or remove members through your identity provider."

type orgPerson struct {
	userID   int64  // numeric, as /organizations/members documents
	publicID string // "user_…", what group routes use
	email    string
	name     string
	orgRole  string
	teams    []orgTeamRole
}

type orgTeamRole struct {
	TeamID int64  `json:"teamId"`
	Role   string `json:"teamRole"`
}

type orgGroup struct {
	ID, PublicID, Name string
	DirectoryGroupID   string // non-empty: synced from SCIM, writes refused
	members            map[int]bool
}

// org is the simulated organization. It has its own lock: its routes never
// touch the team's state.
type org struct {
	key        string
	limit      int
	window     time.Duration
	scimTeam   int64 // a team whose membership comes from a synced group
	mu         sync.Mutex
	people     []orgPerson
	byPublic   map[string]int
	byUserID   map[int64]int
	teams      []int64
	groups     []*orgGroup // organization groups
	dirGroups  []*orgGroup // team directory groups of team OrgTeamBase
	billing    []*orgGroup // billing groups of team OrgTeamBase; a person in at most one
	events     []wireAuditEvent
	windows    map[string]orgWindow // per presented key
	rateLimits int                  // 429s sent, for tests
}

type orgWindow struct {
	start time.Time
	used  int
}

func newOrg(cfg OrgConfig, seed int64) *org {
	nTeams := cmp.Or(cfg.Teams, 4)
	o := &org{
		key: cfg.APIKey, limit: cmp.Or(cfg.RateLimit, 20), window: cmp.Or(cfg.RateWindow, time.Minute),
		byPublic: map[string]int{}, byUserID: map[int64]int{}, windows: map[string]orgWindow{},
	}
	for k := range nTeams {
		o.teams = append(o.teams, int64(OrgTeamBase+k))
	}
	o.scimTeam = o.teams[nTeams-1]
	s := uint64(seed)
	for i := range cfg.People {
		h := splitmix(s ^ splitmix(uint64(i)+0x0e9))
		first, last := firstNames[h%uint64(len(firstNames))], lastNames[(h>>8)%uint64(len(lastNames))]
		p := orgPerson{
			userID:   int64(50_000 + i),
			publicID: fmt.Sprintf("user_org%07dx%05d", i, h%100_000),
			email:    fmt.Sprintf("%s.%s.%d@%s", lower(first), lower(last), i, domains[(h>>16)%uint64(len(domains))]),
			name:     first + " " + last,
			orgRole:  "member",
		}
		if i == idxOrgUpper {
			p.email = fmt.Sprintf("%s.%s.%d@%s", first, last, i, "ACME.example")
		}
		if i%orgAdminEvery == 0 || i == idxOrgNoTeam {
			p.orgRole = "admin"
		}
		if i != idxOrgNoTeam {
			primary := i % nTeams
			p.teams = append(p.teams, orgTeamRole{o.teams[primary], teamRole(i, nTeams, h)})
			if i%orgSecondEvery == 3 {
				p.teams = append(p.teams, orgTeamRole{o.teams[(primary+1)%nTeams], "member"})
			}
		}
		o.byPublic[p.publicID], o.byUserID[p.userID] = i, i
		o.people = append(o.people, p)
	}
	pick := func(salt uint64, every uint64, inTeam int64) map[int]bool {
		m := map[int]bool{}
		for i := range o.people {
			if (inTeam == 0 || o.onTeam(i, inTeam)) && splitmix(s^salt^uint64(i))%every == 0 {
				m[i] = true
			}
		}
		return m
	}
	o.groups = []*orgGroup{
		{ID: "g_1", PublicID: "grp_engineering", Name: "Engineering", members: pick(1, 10, 0)},
		{ID: "g_2", PublicID: "grp_engineering_lc", Name: "engineering", members: pick(2, 50, 0)}, // Cursor's mock holds both spellings
		{ID: "g_3", PublicID: "grp_contractors", Name: "Contractors", members: pick(3, 20, 0)},
		{ID: "g_4", PublicID: "grp_okta_sales", Name: "Okta Sales", DirectoryGroupID: "dir_okta_sales", members: pick(4, 10, 0)},
		{ID: "g_5", PublicID: "grp_okta_admins", Name: "Okta Admins", DirectoryGroupID: "dir_okta_admins", members: pick(5, 100, 0)},
	}
	team := o.teams[0]
	o.dirGroups = []*orgGroup{
		{ID: "team_group_1", Name: "Frontend", members: pick(6, 5, team)},
		{ID: "team_group_2", Name: "Backend", members: pick(7, 5, team)},
		{ID: "team_group_3", Name: "Okta Designers", DirectoryGroupID: "dir_okta_designers", members: pick(8, 10, team)},
	}
	o.billing = []*orgGroup{
		{ID: "group_1", Name: "R&D", members: map[int]bool{}},
		{ID: "group_2", Name: "Sales", members: map[int]bool{}},
		{ID: "group_3", Name: "Support", DirectoryGroupID: "dir_support", members: map[int]bool{}},
	}
	for i := range o.people { // a quarter of the team unassigned, the rest in exactly one group
		if g := splitmix(s^9^uint64(i)) % 4; g < 3 && o.onTeam(i, team) {
			o.billing[g].members[i] = true
		}
	}
	return o
}

// teamRole: the first person of each team owns it (every team has an
// admin); then 3% owners, 1% free-owners (Unpaid Admin), the rest members.
func teamRole(i, nTeams int, h uint64) string {
	switch r := (h >> 24) % 100; {
	case i < nTeams+2:
		return "owner"
	case r < 3:
		return "owner"
	case r < 4:
		return "free-owner"
	}
	return "member"
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (o *org) onTeam(i int, team int64) bool {
	return slices.ContainsFunc(o.people[i].teams, func(t orgTeamRole) bool { return t.TeamID == team })
}

func (g *orgGroup) sorted() []int {
	out := make([]int, 0, len(g.members))
	for i := range g.members {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// OrgPerson is a person of the simulated organization, for tests.
type OrgPerson struct {
	UserID   int64
	PublicID string
	Email    string
	OrgRole  string
	Teams    map[int64]string // team id -> team role
}

// OrgPeople returns the organization's people in listing order.
func (t *Tenant) OrgPeople() []OrgPerson {
	o := t.org
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]OrgPerson, len(o.people))
	for i, p := range o.people {
		out[i] = OrgPerson{UserID: p.userID, PublicID: p.publicID, Email: p.email, OrgRole: p.orgRole, Teams: map[int64]string{}}
		for _, tr := range p.teams {
			out[i].Teams[tr.TeamID] = tr.Role
		}
	}
	return out
}

// OrgGroupMembers returns the emails in the organization, directory or
// billing group with this id, sorted by person.
func (t *Tenant) OrgGroupMembers(id string) []string {
	o := t.org
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, gs := range [][]*orgGroup{o.groups, o.dirGroups, o.billing} {
		for _, g := range gs {
			if g.ID == id {
				var out []string
				for _, i := range g.sorted() {
					out = append(out, o.people[i].email)
				}
				return out
			}
		}
	}
	return nil
}

// OrgRateLimited is how many 429s the organization routes sent.
func (t *Tenant) OrgRateLimited() int {
	t.org.mu.Lock()
	defer t.org.mu.Unlock()
	return t.org.rateLimits
}

func validateOrg(cfg Config) error {
	o := cfg.Org
	switch {
	case o.APIKey == "":
		return nil
	case o.APIKey == cfg.APIKey || o.APIKey == cfg.SCIMToken:
		return fmt.Errorf("Org.APIKey must differ from APIKey and SCIMToken")
	case o.People < 0 || o.People > MaxOrgPeople:
		return fmt.Errorf("Org.People must be between 0 and %d, got %d", MaxOrgPeople, o.People)
	case o.Teams != 0 && (o.Teams < 2 || o.Teams > 50):
		return fmt.Errorf("Org.Teams must be between 2 and 50 (0 = 4), got %d", o.Teams)
	case o.RateLimit < -1 || o.RateWindow < 0:
		return fmt.Errorf("Org.RateLimit must be >= -1 (0 = 20, -1 = none) and Org.RateWindow >= 0, got %d and %s", o.RateLimit, o.RateWindow)
	}
	return nil
}
