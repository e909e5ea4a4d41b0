package simulator

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
)

// SCIM users link to team members by email: userName is the member's email,
// compared case-insensitively (docs/cursor-api.md §4.3). Generated members are
// SCIM-managed when their row is even, and row RowSCIMRemoved; their SCIM
// user is active unless the row starts removed. The rows below hold for any
// team of at least 20 members.
const (
	RowSCIMActive    = 4              // an active member with an active SCIM user
	RowDashboardOnly = idxPlainMember // an active member with no SCIM user (added in the dashboard)
	RowSCIMRemoved   = idxRemoved     // a removed member whose SCIM user is inactive
)

// SCIMUser is one user of the simulated SCIM directory.
type SCIMUser struct {
	ID         string
	UserName   string
	GivenName  string
	FamilyName string
	Active     bool
}

type scimUser struct {
	SCIMUser
	externalID string
	row        int // index of the linked member in Tenant.members; -1 = none found yet
}

// scimDir is the SCIM directory. Users are kept in creation order; a
// deleted user is cut out of the slice.
type scimDir struct {
	users  []*scimUser
	byID   map[string]*scimUser
	byName map[string][]*scimUser // key: lower-cased userName
	next   int                    // id number of the next user added
}

func scimManaged(row int) bool { return row%2 == 0 || row == RowSCIMRemoved }

var (
	errNoSCIMUser       = errors.New("no SCIM user with that userName")
	errSCIMUserInactive = errors.New("the SCIM user is inactive")
)

// dirLocked returns the SCIM directory, building it on first use so that
// tenants that never touch SCIM pay nothing. It is derived from the seed and
// team size only (rows are regenerated), so it does not depend on what
// happened to the roster before.
func (t *Tenant) dirLocked() *scimDir {
	if t.scim != nil {
		return t.scim
	}
	n := (t.teamSize + 1) / 2
	recs := make([]scimUser, 0, n+1)
	for i := 0; i < t.teamSize; i++ {
		if !scimManaged(i) {
			continue
		}
		m := t.gen.member(i)
		given, family, _ := strings.Cut(m.Name, " ")
		recs = append(recs, scimUser{
			SCIMUser: SCIMUser{ID: t.gen.scimID(i), UserName: m.Email, GivenName: given, FamilyName: family, Active: !m.IsRemoved},
			row:      i,
		})
	}
	d := &scimDir{
		users:  make([]*scimUser, 0, len(recs)+2*len(t.scimDupes)),
		byID:   make(map[string]*scimUser, len(recs)),
		byName: make(map[string][]*scimUser, len(recs)),
		next:   t.teamSize,
	}
	for i := range recs {
		d.add(&recs[i])
	}
	for _, email := range t.scimDupes {
		same := d.byName[strings.ToLower(email)]
		if len(same) >= 2 {
			continue // listed twice
		}
		if len(same) == 0 {
			same = []*scimUser{d.add(&scimUser{SCIMUser: SCIMUser{ID: t.gen.scimID(d.next), UserName: email, Active: true}, row: -1})}
		}
		first := same[0]
		twin := strings.ToUpper(first.UserName)
		if twin == first.UserName {
			twin = strings.ToLower(twin)
		}
		u := *first
		u.ID, u.UserName, u.Active = t.gen.scimID(d.next), twin, true
		d.add(&u)
	}
	t.scim = d
	return d
}

func (d *scimDir) add(u *scimUser) *scimUser {
	d.users = append(d.users, u)
	d.byID[u.ID] = u
	key := strings.ToLower(u.UserName)
	d.byName[key] = append(d.byName[key], u)
	d.next++
	return u
}

func (d *scimDir) remove(u *scimUser) {
	delete(d.byID, u.ID)
	key := strings.ToLower(u.UserName)
	same := d.byName[key]
	for i, v := range same {
		if v == u {
			same = append(same[:i:i], same[i+1:]...)
			break
		}
	}
	if len(same) == 0 {
		delete(d.byName, key)
	} else {
		d.byName[key] = same
	}
	for i, v := range d.users {
		if v == u {
			d.users = append(d.users[:i], d.users[i+1:]...)
			break
		}
	}
}

// scimID is a UUID-shaped id for SCIM user number k. The last 12 hex digits
// are a bijection of k, which makes ids unique without a lookup.
func (g generator) scimID(k int) string {
	const hex = "0123456789abcdef"
	hi := splitmix(g.seed ^ 0x5c1a_0000_5c1a_0000 + uint64(k))
	lo := splitmix(hi)
	tail := (uint64(k)*0x9e37_79b9_7f4b + g.idAdd) & (1<<48 - 1)
	var x [32]byte
	for j := 0; j < 16; j++ {
		x[j] = hex[hi>>(60-4*j)&0xf]
	}
	for j := 0; j < 4; j++ {
		x[16+j] = hex[lo>>(60-4*j)&0xf]
	}
	for j := 0; j < 12; j++ {
		x[20+j] = hex[tail>>(44-4*j)&0xf]
	}
	x[12], x[16] = '4', hex[8|lo&3] // version 4, RFC 4122 variant
	var b [36]byte
	copy(b[:], x[:8])
	copy(b[9:], x[8:12])
	copy(b[14:], x[12:16])
	copy(b[19:], x[16:20])
	copy(b[24:], x[20:])
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
	return string(b[:])
}

// SCIMUsers returns a copy of the SCIM directory in creation order.
func (t *Tenant) SCIMUsers() []SCIMUser {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.dirLocked()
	us := make([]SCIMUser, len(d.users))
	for i, u := range d.users {
		us[i] = u.SCIMUser
	}
	return us
}

// FirstLogin simulates the first sign-in of the SCIM user with this userName
// (case-insensitive): the person becomes an active team member with role
// "member" and a new id in the tenant's IDStyle. If a member row with that
// email exists it is reactivated as it was (same id and role) instead. It
// fails when no SCIM user has that userName or none of them is active.
func (t *Tenant) FirstLogin(userName string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	same := t.dirLocked().byName[strings.ToLower(userName)]
	if len(same) == 0 {
		return fmt.Errorf("simulator: first login of %q: %w", userName, errNoSCIMUser)
	}
	for _, u := range same {
		if u.Active {
			t.firstLoginLocked(u)
			return nil
		}
	}
	return fmt.Errorf("simulator: first login of %q: %w", userName, errSCIMUserInactive)
}

func (t *Tenant) firstLoginLocked(u *scimUser) {
	if row := t.linkLocked(u); row >= 0 {
		if t.members[row].IsRemoved {
			t.members[row].IsRemoved = false
			t.invalidateLocked()
		}
		return
	}
	i := len(t.members)
	m := t.gen.member(i) // for the id; the rest is replaced
	m.Email, m.Role, m.IsRemoved = u.UserName, "member", false
	m.Name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	t.members = append(t.members, m)
	u.row = i
	t.invalidateLocked()
}

// linkLocked returns the member row of u, looking it up by email once.
// Emails are unique in the roster (FirstLogin reactivates rather than adds),
// and rows are never dropped or moved, so the index stays valid.
func (t *Tenant) linkLocked(u *scimUser) int {
	if u.row >= 0 {
		return u.row
	}
	for i := range t.members {
		if strings.EqualFold(t.members[i].Email, u.UserName) {
			u.row = i
			break
		}
	}
	return u.row
}

// setActiveLocked applies active to u and to its member, if there is one:
// false marks the member removed, true reactivates it.
func (t *Tenant) setActiveLocked(u *scimUser, active bool) {
	u.Active = active
	if row := t.linkLocked(u); row >= 0 && t.members[row].IsRemoved == active {
		t.members[row].IsRemoved = !active
		t.invalidateLocked()
	}
}

const contentTypeSCIM = "application/scim+json"

// serveSCIM answers /scim/v2/...: faults, then the bearer token, then the
// SCIM library.
func (t *Tenant) serveSCIM(w http.ResponseWriter, r *http.Request) {
	if t.scimServer == nil {
		writeJSON(w, http.StatusNotFound, bodyNotFound)
		return
	}
	t.mu.Lock()
	retryAfter := t.faults.SCIMRetryAfter
	fail := t.scimLeft != 0
	if t.scimLeft > 0 {
		t.scimLeft--
	}
	t.mu.Unlock()
	if fail {
		setRetryAfter(w, retryAfter)
		writeSCIMError(w, scimerrors.ScimError{Status: http.StatusServiceUnavailable, Detail: "The service is temporarily unavailable. Please try again later."})
		return
	}
	auth := r.Header.Get("Authorization")
	if len(auth) <= 7 || !strings.EqualFold(auth[:7], "Bearer ") ||
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth[7:])), []byte(t.scimToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="SCIM"`)
		writeSCIMError(w, scimerrors.ScimError{Status: http.StatusUnauthorized, Detail: "Authorization failure. The authorization header is invalid or missing."})
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == pathSCIM+"/Users" {
		serveFixedItemsPerPage(w, r, t.scimServer)
		return
	}
	t.scimServer.ServeHTTP(w, r)
}

func writeSCIMError(w http.ResponseWriter, e scimerrors.ScimError) {
	body, _ := json.Marshal(e) // a struct of strings: cannot fail
	w.Header().Set("Content-Type", contentTypeSCIM)
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// serveFixedItemsPerPage works around the SCIM library, which reports the
// requested count as itemsPerPage. RFC 7644 §3.4.2 defines it as the number
// of resources in this page (fewer on the last page or for a filter), so the
// list response is rewritten with the true number.
func serveFixedItemsPerPage(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	if rec.status == http.StatusOK {
		var list map[string]json.RawMessage
		var resources []json.RawMessage
		if json.Unmarshal(body, &list) == nil && json.Unmarshal(list["Resources"], &resources) == nil {
			list["itemsPerPage"], _ = json.Marshal(len(resources))
			if fixed, err := json.Marshal(list); err == nil {
				body = fixed
			}
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(body)
}

// recorder is a ResponseWriter that keeps the response in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *recorder) Header() http.Header { return c.header }
func (c *recorder) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}
func (c *recorder) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return c.body.Write(p)
}

// serveFirstLogin is POST /_simulator/first-login?userName=<email>: no auth,
// not counted, like /_simulator/requests.
func (t *Tenant) serveFirstLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header()["Allow"] = []string{http.MethodPost}
		writeJSON(w, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
		return
	}
	userName := r.URL.Query().Get("userName")
	if userName == "" {
		writeJSON(w, http.StatusBadRequest, []byte(`{"error":"Bad Request","message":"userName query parameter is required"}`))
		return
	}
	status := http.StatusOK
	err := t.FirstLogin(userName)
	switch {
	case errors.Is(err, errNoSCIMUser):
		status = http.StatusNotFound
	case err != nil:
		status = http.StatusConflict
	}
	if err != nil {
		body, _ := json.Marshal(map[string]string{"error": http.StatusText(status), "message": err.Error()})
		writeJSON(w, status, body)
		return
	}
	writeJSON(w, status, []byte(`{"success":true}`))
}
