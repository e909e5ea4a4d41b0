// Package simulator is a simulated Cursor tenant (team Admin API and SCIM)
// for tests, demos and benchmarks. It serves GET /teams/members and POST
// /teams/remove-member as described in docs/cursor-api.md §2.1-2.2, the activity
// routes of §2.4-2.6 (activity.go) and, when
// Config.SCIMToken is set, SCIM 2.0 /Users at /scim/v2 (§4). It is
// deterministic from a seed, scales to 1,000,000 members and has switchable
// faults.
package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IDStyle selects the JSON type of member ids. Cursor's docs changed it from
// a number (early 2026) to an encoded "user_…" string (2026-08).
type IDStyle string

const (
	IDStyleString IDStyle = "string" // "user_" + 26 base62 chars
	IDStyleNumber IDStyle = "number" // positive integer
	IDStyleMixed  IDStyle = "mixed"  // even indexes string, odd indexes number
	// IDStylePublic is what Cursor's own Terraform provider expects (2026-09,
	// docs/cursor-api.md §2.1.1): "id" a number as a string ("42") beside
	// "publicId", the "user_…" string.
	IDStylePublic IDStyle = "public-id"
)

// OrgAdminRole is the role the simulator gives rows of Config.OrgAdmins. The
// dashboard labels organization admins in team lists "Org Admin" (Sep 2026);
// the API's string for them is not documented, so this is a guess.
const OrgAdminRole = "Org Admin"

// MaxMembers is the largest team New accepts.
const MaxMembers = 1_000_000

// Member is one row of GET /teams/members.
type Member struct {
	ID        any    // string or int64
	PublicID  string // sent as "publicId" when non-empty (IDStylePublic)
	Email     string
	Name      string
	Role      string
	IsRemoved bool
	// UserID, when non-zero, is sent as the undocumented extra field
	// "user_id" (seen live per the forum) so clients learn to ignore it.
	UserID int64
}

// Fixed row indexes that carry the variations tests rely on for any team of
// at least 20 members. Rows 0..19 also have fixed roles and removal state.
const (
	idxPlainMember  = 1
	idxFreeOwner    = 2
	idxBillingAdmin = 3
	idxUpperEmail   = 7
	idxEmptyName    = 9
	idxUnicodeName  = 12
	idxSameNameA    = 14
	idxSameNameB    = 15
	idxRemoved      = 17
	fixedRows       = 20
)

const (
	unicodeName  = `Zoë "Z" Ødegård 🚀`
	sameName     = "Alex Kim"
	idChars      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	idRandomLen  = 21
	idIndexLen   = 5
	idIndexSpace = 62 * 62 * 62 * 62 * 62 // 916,132,832 distinct index suffixes
)

var (
	firstNames = []string{
		"Dana", "Alex", "Sam", "Noa", "Priya", "Chen", "Maria", "Omar", "Lena", "Kofi",
		"Yuki", "Ivan", "Aisha", "Tom", "Sofia", "Ravi", "Emma", "Luca", "Hana", "Diego",
		"Nina", "Jonas", "Fatima", "Ben", "Mei", "Pedro", "Sara", "Ali", "Julia", "Kai",
	}
	lastNames = []string{
		"Levi", "Kim", "Patel", "Garcia", "Nguyen", "Smith", "Cohen", "Okafor", "Rossi", "Tanaka",
		"Ivanova", "Khan", "Muller", "Silva", "Brown", "Haddad", "Novak", "Larsen", "Wong", "Lopez",
		"Fischer", "Mensah", "Dubois", "Sato", "Costa", "Berg", "Ali", "Walsh", "Park", "Moreau",
	}
	domains = []string{"acme.example", "globex.example", "initech.test", "umbrella.example"}
)

// generator turns (seed, row index) into a member. Every row is a pure
// function of both, so later handlers can mint new rows the same way.
type generator struct {
	seed    uint64
	style   IDStyle
	numBase int64  // first numeric id
	idMul   uint64 // odd, not a multiple of 31: i -> i*idMul+idAdd is a bijection mod 62^5
	idAdd   uint64
	// longEmails pads every address to 254 characters (Config.LongEmails).
	longEmails bool
}

func newGenerator(seed int64, style IDStyle) generator {
	s := uint64(seed)
	mul := splitmix(s^0x5eed)%idIndexSpace | 1
	for mul%31 == 0 {
		mul += 2
	}
	return generator{
		seed:    s,
		style:   style,
		numBase: 10_000 + int64(splitmix(s)%90_000),
		idMul:   mul,
		idAdd:   splitmix(s+1) % idIndexSpace,
	}
}

// splitmix is SplitMix64's finaliser; it spreads adjacent inputs apart.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// member builds row i. It always draws the same random numbers in the same
// order, so names, emails and roles do not depend on the id style.
func (g generator) member(i int) Member {
	var p rand.PCG
	p.Seed(g.seed, splitmix(uint64(i)))
	r1, r2 := p.Uint64(), p.Uint64()

	first := firstNames[r1%uint64(len(firstNames))]
	last := lastNames[(r1>>16)%uint64(len(lastNames))]
	domain := domains[(r1>>32)%uint64(len(domains))]
	roll := (r1 >> 40) % 1000 // role: 3% owner, 1% free-owner, 0.2% billing-admin
	removed := (r2>>32)%100 < 5
	numID := g.numBase + int64(i)*3 + int64(r2%3) // strictly increasing, so unique

	m := Member{Role: "member", IsRemoved: removed}
	switch {
	case roll < 30:
		m.Role = "owner"
	case roll < 40:
		m.Role = "free-owner"
	case roll < 42:
		m.Role = "billing-admin"
	}

	name := first + " " + last
	local := strings.ToLower(first) + "." + strings.ToLower(last)
	if i < fixedRows {
		m.Role, m.IsRemoved = "member", false
		switch i {
		case 0:
			m.Role = "owner"
		case idxFreeOwner:
			m.Role = "free-owner"
		case idxBillingAdmin:
			m.Role = "billing-admin"
		case idxRemoved:
			m.IsRemoved = true
		case idxUpperEmail:
			// Cursor returns the email as entered, capitals included.
			name, local, domain = "Dana Levi", "Dana.Levi", "Acme.example"
		case idxEmptyName:
			name = ""
		case idxUnicodeName:
			name, local = unicodeName, "zoe.odegard"
		case idxSameNameA, idxSameNameB:
			name, local = sameName, "alex.kim"
		}
	}
	m.Name = name
	// The row index in the local part keeps emails unique, case-insensitively.
	m.Email = local + "." + strconv.Itoa(i) + "@" + domain
	if g.longEmails {
		m.Email = longestAddress(local+"."+strconv.Itoa(i), domain)
	}

	useString := g.style == IDStyleString || (g.style == IDStyleMixed && i%2 == 0)
	switch {
	case g.style == IDStylePublic:
		m.ID, m.PublicID = strconv.FormatInt(numID, 10), g.stringID(i, &p)
		return m
	case !useString:
		m.ID = numID
		return m
	}
	m.ID = g.stringID(i, &p)
	if i%100 == 0 {
		m.UserID = numID
	}
	return m
}

// Addresses of RFC 5321's longest length: a local part of 64 characters and
// a domain of 189 under a corporate-style subdomain, in labels of at most 63.
const (
	maxAddressLen = 254
	maxLocalLen   = 64
	longSubdomain = "engineering.emea.subsidiary-holdings."
)

// longestAddress pads local and domain so the address is maxAddressLen long.
func longestAddress(local, domain string) string {
	b := make([]byte, 0, maxAddressLen)
	b = append(b, local...)
	if len(b) < maxLocalLen {
		b = append(b, '.')
	}
	for len(b) < maxLocalLen {
		b = append(b, 'x')
	}
	b = append(b, '@')
	b = append(b, longSubdomain...)
	// Labels of 'a' up to the length left, each at most 63, then the domain
	// (one character left over would be an empty label: the address is
	// then a character short).
	for left := maxAddressLen - len(b) - len(domain); left > 1; {
		n := min(left-1, 63)
		for range n {
			b = append(b, 'a')
		}
		b = append(b, '.')
		left -= n + 1
	}
	return string(append(b, domain...))
}

// stringID is "user_" + 21 random base62 chars + 5 chars that encode a
// bijection of the index, which makes ids unique without a lookup table.
func (g generator) stringID(i int, p *rand.PCG) string {
	var b [5 + idRandomLen + idIndexLen]byte
	copy(b[:], "user_")
	var x uint64
	for k := 0; k < idRandomLen; k++ {
		if k%10 == 0 { // ten base62 digits per 64-bit draw
			x = p.Uint64()
		}
		b[5+k] = idChars[x%62]
		x /= 62
	}
	v := (uint64(i)*g.idMul + g.idAdd) % idIndexSpace
	for k := len(b) - 1; k >= 5+idRandomLen; k-- {
		b[k] = idChars[v%62]
		v /= 62
	}
	return string(b[:])
}

// generate builds n rows, the last orgAdmins of them organization admins.
func generate(g generator, n, orgAdmins int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = g.member(i)
		if i >= n-orgAdmins {
			ms[i].Role, ms[i].IsRemoved = OrgAdminRole, false
		}
	}
	return ms
}

// encodeMembers builds the whole response body by hand: for a million rows
// this is several times faster than encoding/json and is done once per
// roster change, not per request.
func encodeMembers(ms []Member, omitRemoved bool) []byte {
	buf := make([]byte, 0, 32+len(ms)*150)
	buf = append(buf, `{"teamMembers":[`...)
	first := true
	for i := range ms {
		m := &ms[i]
		if omitRemoved && m.IsRemoved {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendMember(buf, m)
	}
	return append(buf, "]}"...)
}

// appendMember appends one row as a JSON object.
func appendMember(buf []byte, m *Member) []byte {
	buf = append(buf, `{"id":`...)
	buf = appendID(buf, m.ID)
	if m.PublicID != "" {
		buf = append(buf, `,"publicId":`...)
		buf = appendString(buf, m.PublicID)
	}
	buf = append(buf, `,"name":`...)
	buf = appendString(buf, m.Name)
	buf = append(buf, `,"email":`...)
	buf = appendString(buf, m.Email)
	buf = append(buf, `,"role":`...)
	buf = appendString(buf, m.Role)
	buf = append(buf, `,"isRemoved":`...)
	buf = strconv.AppendBool(buf, m.IsRemoved)
	if m.UserID != 0 {
		buf = append(buf, `,"user_id":`...)
		buf = strconv.AppendInt(buf, m.UserID, 10)
	}
	return append(buf, '}')
}

func appendID(buf []byte, id any) []byte {
	switch v := id.(type) {
	case string:
		return appendString(buf, v)
	case int64:
		return strconv.AppendInt(buf, v, 10)
	case int:
		return strconv.AppendInt(buf, int64(v), 10)
	}
	b, err := json.Marshal(id) // rows added later by other handlers
	if err != nil {
		return append(buf, "null"...)
	}
	return append(buf, b...)
}

// appendString appends s as a JSON string. Printable non-ASCII is kept as
// UTF-8 (like Cursor and encoding/json do); invalid UTF-8 becomes U+FFFD.
func appendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			buf = append(buf, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029': // valid JSON, but break JavaScript
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}

func validateConfig(cfg Config) error {
	var errs []error
	if cfg.Members < 0 || cfg.Members > MaxMembers {
		errs = append(errs, fmt.Errorf("Members must be between 0 and %d, got %d", MaxMembers, cfg.Members))
	}
	if cfg.APIKey == "" {
		errs = append(errs, errors.New("APIKey must not be empty"))
	}
	switch cfg.IDStyle {
	case "", IDStyleString, IDStyleNumber, IDStyleMixed, IDStylePublic:
	default:
		errs = append(errs, fmt.Errorf("IDStyle must be %q, %q, %q or %q, got %q", IDStyleString, IDStyleNumber, IDStyleMixed, IDStylePublic, cfg.IDStyle))
	}
	if cfg.OrgAdmins < 0 || cfg.OrgAdmins > cfg.Members {
		errs = append(errs, fmt.Errorf("OrgAdmins must be between 0 and Members (%d), got %d", cfg.Members, cfg.OrgAdmins))
	}
	if cfg.MembersPageSize < 0 {
		errs = append(errs, fmt.Errorf("MembersPageSize must be >= 0 (0 = not paged), got %d", cfg.MembersPageSize))
	}
	if err := validateFaults(cfg.Faults); err != nil {
		errs = append(errs, err)
	}
	if err := validateActivity(cfg); err != nil {
		errs = append(errs, err)
	}
	if cfg.SCIMToken != "" && cfg.SCIMToken == cfg.APIKey {
		errs = append(errs, errors.New("SCIMToken must differ from APIKey"))
	}
	if strings.ContainsFunc(cfg.SCIMToken, unicode.IsSpace) {
		errs = append(errs, errors.New("SCIMToken must not contain spaces"))
	}
	if cfg.SCIMMaxResults < 0 {
		errs = append(errs, fmt.Errorf("SCIMMaxResults must be >= 0 (0 = %d), got %d", defaultSCIMMaxResults, cfg.SCIMMaxResults))
	}
	for _, e := range cfg.SCIMDuplicateUserNames {
		if !strings.Contains(e, "@") || strings.ToUpper(e) == strings.ToLower(e) {
			errs = append(errs, fmt.Errorf("SCIMDuplicateUserNames: %q is not an email with letters", e))
		}
	}
	if err := validateOrg(cfg); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("simulator: invalid config: %w", err)
	}
	return nil
}

func validateFaults(f Faults) error {
	var errs []error
	if f.RateLimited < 0 {
		errs = append(errs, fmt.Errorf("Faults.RateLimited must be >= 0, got %d", f.RateLimited))
	}
	if f.ServerErrors < -1 {
		errs = append(errs, fmt.Errorf("Faults.ServerErrors must be >= -1 (-1 = forever), got %d", f.ServerErrors))
	}
	if f.SCIMServerErrors < -1 {
		errs = append(errs, fmt.Errorf("Faults.SCIMServerErrors must be >= -1 (-1 = forever), got %d", f.SCIMServerErrors))
	}
	if f.Delay < 0 {
		errs = append(errs, fmt.Errorf("Faults.Delay must be >= 0, got %v", f.Delay))
	}
	if f.Latency < 0 {
		errs = append(errs, fmt.Errorf("Faults.Latency must be >= 0, got %v", f.Latency))
	}
	if f.DelayedRequests < 0 {
		errs = append(errs, fmt.Errorf("Faults.DelayedRequests must be >= 0, got %d", f.DelayedRequests))
	}
	if f.MalformedRequests < 0 {
		errs = append(errs, fmt.Errorf("Faults.MalformedRequests must be >= 0, got %d", f.MalformedRequests))
	}
	if f.MalformedRequests > 0 && !f.Truncate && !f.InvalidJSON {
		errs = append(errs, errors.New("Faults.MalformedRequests needs Faults.Truncate or Faults.InvalidJSON"))
	}
	if f.SCIMSearchMisses < -1 {
		errs = append(errs, fmt.Errorf("Faults.SCIMSearchMisses must be >= -1 (-1 = forever), got %d", f.SCIMSearchMisses))
	}
	if f.RosterChangesBetweenPages < -1 {
		errs = append(errs, fmt.Errorf("Faults.RosterChangesBetweenPages must be >= -1 (-1 = every page), got %d", f.RosterChangesBetweenPages))
	}
	if f.SCIMConcurrentDeletes < 0 {
		errs = append(errs, fmt.Errorf("Faults.SCIMConcurrentDeletes must be >= 0, got %d", f.SCIMConcurrentDeletes))
	}
	if f.Truncate && f.InvalidJSON {
		errs = append(errs, errors.New("Faults.Truncate and Faults.InvalidJSON are mutually exclusive"))
	}
	for _, v := range []string{f.RetryAfter, f.ServerRetryAfter, f.SCIMRetryAfter} {
		if strings.ContainsAny(v, "\r\n") {
			errs = append(errs, fmt.Errorf("Retry-After value %q contains a line break", v))
		}
	}
	return errors.Join(errs...)
}
